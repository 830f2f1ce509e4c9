"""Pre-filters: turn ``path``/``ext``/``modified_after``/``metadata`` into allowed chunk ids.

The ids restrict the vector search itself (a FAISS ID selector), so a search returns ``k``
hits whenever ``k`` matching chunks exist, however rare they are. Documents are filtered in
SQLite where that is exact (``mtime``) and in Python where globbing or JSON is involved;
even a large index holds few enough documents for that.
"""

from __future__ import annotations

import json
import os
from datetime import date, datetime
from fnmatch import fnmatchcase
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import BadUsage

if TYPE_CHECKING:
    from .store.meta import MetaStore

#: The keyword arguments :func:`allowed_chunk_ids` understands.
FILTER_KEYS = ("path", "ext", "modified_after", "metadata")


def string_list(value: str | Iterable[str] | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, (bytes, dict)) or not hasattr(value, "__iter__"):
        raise BadUsage(f"a filter takes a string or a list of strings, not {value!r}")
    out = []
    for v in value:
        if not isinstance(v, str):
            raise BadUsage(f"a filter takes a string or a list of strings, not {v!r}")
        out.append(v)
    return out


def normalize_exts(ext: str | Iterable[str] | None) -> set[str]:
    """``"md"``, ``".MD"`` and ``"*.md"`` all mean ``.md``."""
    out = set()
    for e in string_list(ext):
        e = e.strip().lower().lstrip("*")
        if not e or e == ".":
            raise BadUsage(f"empty extension in --ext {ext!r}")
        out.add(e if e.startswith(".") else "." + e)
    return out


def to_timestamp(value: datetime | date | str | float | int) -> float:
    """A POSIX timestamp from a datetime (naive = local time), a date (its midnight), an
    ISO string (``YYYY-MM-DD[ HH:MM[:SS]]``) or a number."""
    if isinstance(value, bool):
        raise BadUsage(f"modified_after must be a date, not {value!r}")
    if isinstance(value, (int, float)):
        if value != value or value in (float("inf"), float("-inf")):
            raise BadUsage(f"modified_after must be a date, not {value!r}")
        return float(value)
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise BadUsage(f"modified_after: {value!r} is not a date (YYYY-MM-DD)") from None
    try:
        if isinstance(value, datetime):
            return value.timestamp()
        if isinstance(value, date):
            return datetime(value.year, value.month, value.day).timestamp()
    except (ValueError, OverflowError, OSError):
        # e.g. 0001-01-01 in a time zone east of UTC falls before year 1: nothing is older
        if value.year <= 1970:
            return float("-inf")
        raise BadUsage(f"modified_after: {value} is out of range") from None
    raise BadUsage(f"modified_after must be a date, not {type(value).__name__}")


def check_glob(glob: str) -> str:
    """``glob`` itself, or BadUsage when a ``[...]`` class of it holds a reversed range
    (``[z-a]``): fnmatch silently drops such a range, so the glob would match nothing. A
    class is read as fnmatch reads it (``!`` negates, a ``]`` first is a member, an
    unclosed ``[`` is a literal)."""
    i, n = 0, len(glob)
    while i < n:
        c = glob[i]
        i += 1
        if c != "[":
            continue
        j = i + (i < n and glob[i] == "!")
        j += j < n and glob[j] == "]"
        while j < n and glob[j] != "]":
            j += 1
        if j >= n:
            continue  # an unclosed "[" is a literal
        body = glob[i:j].removeprefix("!")
        k = 0
        while k < len(body):
            if k + 2 < len(body) and body[k + 1] == "-":
                if body[k] > body[k + 2]:
                    raise BadUsage(f"--path {glob!r}: the range {body[k:k + 3]} is reversed")
                k += 3
            else:
                k += 1
        i = j + 1
    return glob


def path_matches(path: str, globs: list[str], real_path: str | None = None) -> bool:
    """True when ``path`` (stored, usually absolute) matches one of ``globs``. A glob is
    tried on the stored path, on the path relative to the current directory, and, when it
    holds no ``/``, on the file name alone (``*.md``, ``notes_*``); a file reached through
    a symlinked folder matches by its real path (``real_path``) as well. A leading ``./``
    of a glob is dropped."""
    candidates = set()
    for p in (path, real_path):
        if not p:
            continue
        candidates.add(p)
        if os.path.isabs(p):
            try:
                candidates.add(os.path.relpath(p))
            except ValueError:
                pass
    globs = [g[2:] if g.startswith("./") else g for g in globs]
    name = path.rsplit("/", 1)[-1]
    for g in globs:
        if "/" not in g and fnmatchcase(name, g):
            return True
        for c in candidates:
            if fnmatchcase(c, g) or fnmatchcase(c, "*/" + g.lstrip("/")):
                return True
    return False


def _metadata_matches(raw: str | None, wanted: dict[str, Any]) -> bool:
    try:
        meta = json.loads(raw) if raw else {}
    except ValueError:
        return False
    if not isinstance(meta, dict):
        return False
    for k, v in wanted.items():
        if k not in meta:
            return False
        have = meta[k]
        if isinstance(v, (list, tuple, set)) and not isinstance(have, list):
            if have not in v and str(have) not in {str(x) for x in v}:
                return False
        elif have != v and str(have) != str(v):
            return False
    return True


def allowed_doc_ids(store: MetaStore, path=None, ext=None, modified_after=None,
                    metadata: dict[str, Any] | None = None) -> list[int]:
    """Ids of the documents in ``store`` that pass every given filter (all of them when
    none is)."""
    globs = [check_glob(g) for g in string_list(path)]
    exts = normalize_exts(ext) if ext else set()
    if metadata is not None and not isinstance(metadata, dict):
        raise BadUsage("metadata filter must be a dict of key=value")
    after = to_timestamp(modified_after) if modified_after is not None else None
    out = []
    for doc_id, p, meta, real_path in store.filterable_documents(after):
        if exts and os.path.splitext(p)[1].lower() not in exts:
            continue
        if globs and not path_matches(p, globs, real_path):
            continue
        if metadata and not _metadata_matches(meta, metadata):
            continue
        out.append(doc_id)
    return out


def allowed_chunk_ids(store: MetaStore, **filters) -> np.ndarray | None:
    """Chunk ids (int64, sorted) of the documents in ``store`` that pass ``filters``; None
    when no filter is set (everything is allowed).

    Args:
        store: a :class:`~searchkit.store.meta.MetaStore` (or an index: its ``.store``).
        path: glob or list of globs on the document path (any may match).
        ext: extension or list of extensions (any may match).
        modified_after: datetime, date, ISO string or timestamp; documents modified later.
        metadata: ``{key: value}`` that the document's metadata must all hold; a list value
            means any of its items.

    Raises:
        BadInput: an unknown filter name or an unusable value.
    """
    unknown = set(filters) - set(FILTER_KEYS)
    if unknown:
        raise BadUsage(f"unknown filter {sorted(unknown)[0]!r}; filters are: "
                       + ", ".join(FILTER_KEYS))
    given = {k: v for k, v in filters.items() if v not in (None, "", [], (), {})}
    if not given:
        return None
    store = getattr(store, "store", store)
    ids = store.chunk_ids_of_documents(allowed_doc_ids(store, **given))
    return np.asarray(sorted(ids), dtype=np.int64)
