"""What an open index keeps between searches (built retrievers ...), one explicit object
instead of attributes set on the index from outside."""

from __future__ import annotations

from typing import Any


class IndexCache:
    """Values kept per key, each valid for one generation of the index: a value stored
    for another generation than the one asked for is never returned (any committed write
    bumps the generation)."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[int, Any]] = {}

    def get(self, key: str, generation: int) -> Any | None:
        """The value kept for ``key`` at ``generation``, else None."""
        entry = self._entries.get(key)
        return entry[1] if entry is not None and entry[0] == generation else None

    def put(self, key: str, generation: int, value: Any) -> None:
        self._entries[key] = (generation, value)

    def clear(self, key: str | None = None) -> None:
        """Forget ``key`` (everything when None)."""
        if key is None:
            self._entries.clear()
        else:
            self._entries.pop(key, None)

    def __contains__(self, key: str) -> bool:
        return key in self._entries
