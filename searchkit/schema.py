"""Response schemas of the HTTP API and MCP tools, derived from the result dataclasses.

The API returns exactly what ``Hit.to_dict()``, ``Answer.to_dict()``, ``Senses.to_dict()`` and
``DocumentView.to_dict()`` give, the same dicts the CLI prints with ``--json``. The pydantic
models here (for validation and the OpenAPI docs) are generated from the dataclasses' fields,
so a field added to a dataclass appears in the API without a second copy. Keys that a
``to_dict`` adds beyond the fields are listed once, in :data:`EXTRA_KEYS`; a test checks that
every model's keys equal its ``to_dict()`` keys.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import asdict, dataclass, field
from typing import Any, Union

from .types import Answer, Hit

#: Keys that ``to_dict`` adds to a dataclass's own fields, with their types.
EXTRA_KEYS: dict[str, dict[str, Any]] = {
    "Hit": {"highlights_in_document": list[tuple[int, int]], "citation": str},
}


@dataclass(frozen=True)
class DocumentView:
    """A document's stored text (put back together from its chunks; no file is read) and,
    when asked for with a chunk, that passage's range, for a page to scroll to and mark."""

    doc_id: int
    path: str  # relative to the indexed root
    title: str | None
    format: str | None
    text: str
    n_chars: int
    chunk_id: int | None = None
    start_char: int | None = None  # the passage, as offsets into ``text``
    end_char: int | None = None
    start_line: int | None = None
    end_line: int | None = None
    page: int | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class SearchResult:
    """What ``search query --json`` prints and ``GET /api/search`` returns."""

    query: str
    hits: list[Hit] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"query": self.query, "hits": [h.to_dict() for h in self.hits]}


_models: dict[type, type] = {}


def model_for(cls: type):
    """The pydantic model of dataclass ``cls``: its fields (types resolved, nested
    dataclasses replaced by their models) plus its :data:`EXTRA_KEYS`. Built once."""
    if cls in _models:
        return _models[cls]
    import pydantic

    hints = typing.get_type_hints(cls)
    fields: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        fields[f.name] = (_sub(hints[f.name]), ...)
    for name, tp in EXTRA_KEYS.get(cls.__name__, {}).items():
        fields[name] = (_sub(tp), ...)
    doc = (cls.__doc__ or "").strip().split("\n\n")[0]
    model = pydantic.create_model(cls.__name__, __doc__=doc, **fields)
    _models[cls] = model
    return model


def _sub(tp):
    """``tp`` with every dataclass inside it replaced by its model."""
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return model_for(tp)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if not args:
        return tp
    subbed = tuple(_sub(a) for a in args)
    if origin in (Union, types.UnionType):
        return Union[subbed]  # noqa: UP007  (a Union built from a tuple)
    return origin[subbed]


def senses_model():
    from .senses_report import Senses

    return model_for(Senses)


def hit_model():
    return model_for(Hit)


def answer_model():
    return model_for(Answer)


def search_model():
    return model_for(SearchResult)


def document_model():
    return model_for(DocumentView)
