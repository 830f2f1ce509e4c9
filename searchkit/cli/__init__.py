"""The ``search`` command line: a thin skin over the Python API. Parse, call, format.

:mod:`.base` holds the group, the options commands share and the core commands (index,
query, stats); each other module holds one family of commands, imported only when one of
them runs (or ``--help`` lists them), so that ``search --help`` is instant.
"""

from .base import (EXIT_BROKEN_PIPE, EXIT_SKIPPED, LAZY_COMMANDS, METHOD_HELP, Group,
                   JsonError, ProgressBar, cli, filter_kwargs, filter_options, format_hit,
                   fusion_kwargs, fusion_options, index_option, index_path, json_option, main,
                   setup_logging)

# The old private names of the shared helpers, for cli_*.py modules of branches written
# before the package; new code uses the public names (tests/test_module_boundaries.py
# flags the old ones).
_index_path, _setup_logging, _filters = index_path, setup_logging, filter_kwargs
_fusion, _ProgressBar = fusion_kwargs, ProgressBar

__all__ = ["EXIT_BROKEN_PIPE", "EXIT_SKIPPED", "LAZY_COMMANDS", "METHOD_HELP", "Group",
           "JsonError", "ProgressBar", "cli", "filter_kwargs", "filter_options", "format_hit",
           "fusion_kwargs", "fusion_options", "index_option", "index_path", "json_option",
           "main", "setup_logging"]
