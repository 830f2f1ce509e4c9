"""``search formats``: the file types ``search index`` reads, the reader of each, what a
location is in it, and which optional package enables which (loaded lazily by the group)."""

from __future__ import annotations

import json
import textwrap

import click

from .base import json_option

EXTRA_HINT = "pip install 'searchkit[formats]'"


@click.command("formats")
@json_option
def formats_cmd(as_json):
    """List the file types `search index` reads.

    One line per reader: its name, what a location in its results is (a line range, or
    the page, slide, cell, message, chapter or paragraph: `deck.pptx#slide=3`), its
    extensions, and whether it is ready or needs an optional package. Then the optional
    packages, whether each is installed and what it enables. Readers added by other
    packages (entry point group `searchkit.readers`) are listed with their distribution.

    \b
    Examples:
      search formats
      search formats --json
    """
    from ..readers import formats

    info = formats()
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    rows = [(r["reader"] + ("" if r["source"] == "searchkit" else f" ({r['source']})"),
             r["location"], " ".join(r["extensions"]),
             "ready" if r["ready"] else "needs package " + ", ".join(r["missing"]))
            for r in info["readers"]]
    w0 = max(len("Reader"), *(len(r[0]) for r in rows))
    w1 = max(len("Location"), *(len(r[1]) for r in rows))
    width = 40
    click.echo(f"{'Reader':<{w0}}  {'Location':<{w1}}  {'Extensions':<{width}}  Status")
    for name, loc, exts, status in rows:
        lines = textwrap.wrap(exts, width) or [""]
        click.echo(f"{name:<{w0}}  {loc:<{w1}}  {lines[0]:<{width}}  {status}")
        for more in lines[1:]:
            click.echo(f"{'':<{w0}}  {'':<{w1}}  {more}")
    if info["packages"]:
        click.echo(f"\nOptional packages ({EXTRA_HINT} installs them all):")
        wp = max(len(p["package"]) for p in info["packages"])
        for p in info["packages"]:
            state = f"installed {p['version'] or ''}".strip() if p["installed"] \
                else "not installed"
            click.echo(f"  {p['package']:<{wp}}  {state:<18}  enables "
                       + " ".join(p["enables"]))
    for err in info["plugin_errors"]:
        click.echo(f"Plugin failed to load: {err}", err=True)
