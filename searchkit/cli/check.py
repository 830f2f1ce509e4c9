"""``search check``: is the index sound; with --repair, fix what can be fixed in place."""

from __future__ import annotations

import json
import sys

import click

from .base import index_path, index_option, json_option


@click.command("check")
@index_option
@click.option("--repair", is_flag=True,
              help="Fix what can be fixed in place: embed missing or damaged stored vectors "
                   "again and rebuild the vector file from the database.")
@json_option
def check_cmd(index_dir, repair, as_json):
    """Check an index's files: the database (SQLite quick_check, a stored vector of unit
    length for every chunk) and the vector file (its SHA-256 against the one recorded when
    it was written, its count, and every vector against the database's copy).

    A damaged database cannot be repaired in place: rebuild the index from your documents
    with `search index PATHS --index DIR --rebuild` (it works even when index.db is garbage).

    \b
    Examples:
      search check
      search check --repair --index indexes/notes
      search check --json

    \b
    Exit status:
      0  the index is sound (or --repair fixed every problem)
      1  problems remain (listed)
    """
    from ..api import check

    rep = check(index=index_path(index_dir), repair=repair)
    if as_json:
        click.echo(json.dumps(rep.to_dict(), indent=2))
    else:
        click.echo(_format(rep))
    if not rep.ok:
        sys.exit(1)


def _format(rep) -> str:
    lines = [f"Index: {rep.path}", f"Chunks: {rep.chunks:,}, vectors in the vector file: "
                                   f"{rep.vectors:,}"]
    lines += [f"Problem: {p}" for p in rep.problems]
    lines += [f"Repaired: {r}" for r in rep.repaired]
    lines += [f"Note: {n}" for n in rep.notes]
    if rep.ok:
        lines.append("OK" + (" after repair." if rep.repaired else ": no problems found."))
    elif not rep.repaired and not any(p.startswith(("database", "the database"))
                                      for p in rep.problems):
        lines.append("Run `search check --repair` to fix these.")
    return "\n".join(lines)
