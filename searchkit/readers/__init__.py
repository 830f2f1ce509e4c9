"""One reader per format, one module each, behind one function: :func:`read_file`.

A reader is a module that defines ``EXTENSIONS`` and ``read(data: bytes) -> Extracted``
(see :class:`Reader`). The built-in ones are the modules named in :data:`BUILTIN`; other
packages add theirs through the entry point group ``searchkit.readers`` (loaded on first
use; a plugin's reader replaces a built-in one for the same extension).
"""

from __future__ import annotations

import importlib
import threading
from pathlib import Path
from collections.abc import Callable

from ..errors import ReadError
from .base import Extracted, Reader, decode
from .markdown import heading_path
from .text import EXTENSIONS as TEXT_EXTENSIONS

ENTRY_POINT_GROUP = "searchkit.readers"

#: Built-in reader modules, in the order ``search formats`` lists them.
BUILTIN = ("text", "markdown", "html", "pdf", "docx", "odt", "epub", "ipynb", "eml", "mbox",
           "pptx")

#: Readers by name (built-in and plugins).
REGISTRY: dict[str, Reader] = {}
#: Extension (lower case, with the dot) -> the reader called for it.
READERS: dict[str, Callable[[bytes], Extracted]] = {}
#: Entry points that failed to load, as ``"name (distribution): reason"``.
PLUGIN_ERRORS: list[str] = []

_plugins_loaded = False
_lock = threading.RLock()  # a plugin may call back into the registry as it loads


def register(reader: Reader) -> None:
    """Make ``reader`` the one for its extensions."""
    REGISTRY[reader.name] = reader
    for ext in reader.extensions:
        READERS[ext] = reader


for _name in BUILTIN:
    register(Reader.from_module(importlib.import_module(f"{__name__}.{_name}")))


def load_plugins(force: bool = False) -> None:
    """Register the readers of the ``searchkit.readers`` entry points (once per process,
    unless ``force``). One that fails to load is listed in :data:`PLUGIN_ERRORS`."""
    global _plugins_loaded
    with _lock:
        if _plugins_loaded and not force:
            return
        _plugins_loaded = True
        from importlib.metadata import entry_points

        PLUGIN_ERRORS.clear()
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            dist = ep.dist.name if ep.dist is not None else "unknown distribution"
            try:
                obj = ep.load()
                reader = obj if isinstance(obj, Reader) else Reader.from_module(
                    obj, name=ep.name, source=dist)
                if reader.source == "searchkit":
                    reader = Reader(reader.name, reader.extensions, reader.read, reader.unit,
                                    reader.requires, dist)
            except Exception as e:  # a broken plugin must not stop indexing
                PLUGIN_ERRORS.append(f"{ep.name} ({dist}): {type(e).__name__}: {e}")
                continue
            register(reader)


def supported(path: Path) -> bool:
    load_plugins()
    return path.suffix.lower() in READERS


def read_bytes(path: Path, data: bytes) -> Extracted:
    """Extract ``data`` (the bytes of ``path``) with the reader its extension names."""
    load_plugins()
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise ReadError(f"unsupported file type {path.suffix or '(none)'}")
    if not data.strip():
        raise ReadError("empty file")
    doc = reader(data)
    if not doc.text.strip():
        raise ReadError("no text")
    if doc.pages is not None and not doc.unit:
        doc.unit = getattr(reader, "unit", None) or "page"
    return doc


def read_file(path: str | Path, max_bytes: int | None = None) -> Extracted:
    """Read one regular file of at most ``max_bytes`` (default: the ``--max-file-mb``
    setting). Raises :class:`ReadError` with a short reason when it can't."""
    from ..config import max_file_bytes
    from ..fileio import read_limited

    path = Path(path)
    data = read_limited(path, max_file_bytes() if max_bytes is None else max_bytes)
    return read_bytes(path, data)


def formats() -> dict:
    """What ``search formats`` shows: each reader with its extensions, what a location is in
    its documents (``line``, ``page``, ``slide`` ...) and whether it is ready; each extension
    alone; the optional packages and what each enables; plugins that failed to load."""
    from importlib.metadata import PackageNotFoundError, version

    load_plugins()
    readers: dict[int, dict] = {}
    for ext in sorted(READERS):
        r = READERS[ext]
        if id(r) not in readers:
            spec = r if isinstance(r, Reader) else Reader(  # set by hand (tests, apps)
                getattr(r, "__name__", "custom"), (ext,), r, source="custom")
            missing = spec.missing()
            readers[id(r)] = {"reader": spec.name, "location": spec.unit or "line",
                              "source": spec.source, "extensions": [],
                              "requires": sorted(spec.requires), "missing": missing,
                              "ready": not missing}
        readers[id(r)]["extensions"].append(ext)
    order = {name: i for i, name in enumerate(BUILTIN)}
    listed = sorted(readers.values(), key=lambda r: (r["source"] != "searchkit",
                                                     order.get(r["reader"], 0), r["reader"]))
    packages: dict[str, dict] = {}
    for row in listed:
        for pip_name in row["requires"]:
            pkg = packages.setdefault(pip_name, {"package": pip_name, "enables": [],
                                                 "installed": pip_name not in row["missing"]})
            pkg["enables"] += row["extensions"]
    for name, p in packages.items():
        try:
            p["version"] = version(name) if p["installed"] else None
        except PackageNotFoundError:
            p["version"] = None
    rows = [{"extension": e, **{k: v for k, v in r.items() if k != "extensions"}}
            for r in listed for e in r["extensions"]]
    return {"readers": listed, "formats": sorted(rows, key=lambda x: x["extension"]),
            "packages": sorted(packages.values(), key=lambda p: p["package"]),
            "plugin_errors": list(PLUGIN_ERRORS)}


__all__ = ["Extracted", "Reader", "read_file", "read_bytes", "supported", "heading_path",
           "decode", "READERS", "REGISTRY", "TEXT_EXTENSIONS", "register", "load_plugins",
           "formats", "ENTRY_POINT_GROUP"]
