"""Exceptions raised by searchkit. The CLI turns each into a one-line ``Error: ...``."""


class SearchkitError(Exception):
    """Base class of every error searchkit raises on purpose."""


class IndexNotFound(SearchkitError):
    """The index directory does not exist or holds no index."""


class IndexLocked(SearchkitError):
    """Another process is writing the index."""


class EncoderMismatch(SearchkitError):
    """The index was built with another encoder or dimension."""


class BadInput(SearchkitError):
    """A query, file or argument that searchkit refuses."""


class BadUsage(BadInput):
    """An argument that cannot be used as given (an empty query, an unknown method or filter,
    a malformed value): the CLI exits 2, as for its own usage errors."""


class ReadError(SearchkitError):
    """A document could not be read; indexing skips it with this reason."""


class IndexDamaged(SearchkitError):
    """The index's files are damaged; ``search check --repair`` or ``--rebuild`` fixes them."""


class BadValue(BadInput, ValueError):
    """A setting out of range (also a ``ValueError``, as it always was)."""
