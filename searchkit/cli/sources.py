"""``search sources`` and ``search remove``: what an index holds, and taking a folder out."""

from __future__ import annotations

import datetime
import json

import click

from .base import index_path, index_option, json_option


@click.command("sources")
@index_option
@json_option
def sources_cmd(index_dir, as_json):
    """List the folders and files indexed (as given to `search index`, made absolute), with
    the number of documents each holds now and its last sync.

    \b
    Examples:
      search sources
      search sources --index indexes/notes --json
    """
    from ..api import sources

    found = sources(index=index_path(index_dir))
    if as_json:
        click.echo(json.dumps([s.to_dict() for s in found], indent=2, ensure_ascii=False))
        return
    if not found:
        click.echo("Nothing indexed.")
    for s in found:
        when = (datetime.datetime.fromtimestamp(s.last_sync).strftime("%Y-%m-%d %H:%M")
                if s.last_sync else "")
        name = s.path if s.path is not None else "(texts and documents under no source)"
        click.echo(f"{s.documents:>7,}  {when:<16}  {name}")


@click.command("remove")
@click.argument("paths", nargs=-1, required=True)
@index_option
@json_option
def remove_cmd(paths, index_dir, as_json):
    """Remove from the index every document under each of PATHS (a folder or a file, as
    `search sources` lists it or relative to the current folder). The files themselves are
    not touched.

    \b
    Examples:
      search remove ~/notes/old
      search remove sample_corpus --index indexes/sample
    """
    from ..api import remove

    n = remove(list(paths), index=index_path(index_dir))
    if as_json:
        click.echo(json.dumps({"removed": n}))
    else:
        click.echo(f"Removed {n} document{'s' if n != 1 else ''}.")
