"""What a store gives the read side: the interface both the local index
(:class:`searchkit.index.Index`, FAISS + SQLite) and the Postgres one
(:class:`searchkit.store.postgres.PostgresIndex`) implement, so that ``search query`` and
the Python API's readers need not know which they hold. Writing stays with the local
index folder (sync plan, lock, embedding cache); a store is loaded from it."""

from __future__ import annotations

from typing import Protocol, Self, runtime_checkable

from ..types import Hit


@runtime_checkable
class SearchIndex(Protocol):
    def search(self, query: str, k: int = 10, method: str | None = None,
               group: bool = True, **filters) -> list[Hit]:
        """Top ``k`` hits for ``query``; filters: path, ext, modified_after, metadata."""

    def documents(self) -> list[dict]:
        """Every indexed document's row (id, path, title, content_hash ...)."""

    def stats(self) -> dict:
        """Counts and the encoder."""

    def close(self) -> None:
        """Release connections and files."""


class Closing:
    """``with index:`` closes the index at the end of the block (both implementations
    inherit this, and give :meth:`close`)."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
