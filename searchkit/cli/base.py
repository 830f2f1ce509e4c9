"""The ``search`` group, the options commands share, and the core commands (index, query,
stats): a thin skin over the Python API. Parse, call, format.

Heavy modules (torch, faiss, the index) are imported inside commands so that ``--help`` is
instant. Library errors become one ``Error: ...`` line: exit 1 for runtime errors, 2 for usage.
"""

from __future__ import annotations

import json
import os
import sys
import textwrap

import click

from ..display import no_color, terminal_safe
from ..errors import BadUsage, SearchkitError

EXIT_SKIPPED = 3
#: 128 + SIGPIPE, what a shell reports for a process killed by a closed pipe
EXIT_BROKEN_PIPE = 141


#: Commands defined in their own modules, imported only when used (or listed by --help).
LAZY_COMMANDS = {
    "eval": "searchkit.cli.eval:eval_cmd",
    "compare": "searchkit.cli.eval:compare_cmd",
    "ask": "searchkit.cli.ask:ask_cmd",
    "senses": "searchkit.cli.senses:senses_cmd",
    "embed": "searchkit.cli.embed:embed_cmd",
    "tune": "searchkit.cli.embed:tune_cmd",
    "formats": "searchkit.cli.formats:formats_cmd",
    "check": "searchkit.cli.check:check_cmd",
    "sources": "searchkit.cli.sources:sources_cmd",
    "remove": "searchkit.cli.sources:remove_cmd",
    "serve": "searchkit.cli.serve:serve_cmd",
    "mcp": "searchkit.cli.serve:mcp_cmd",
}


class Group(click.Group):
    """Translates library errors once, at the boundary; loads feature commands lazily."""

    def list_commands(self, ctx):
        return sorted(set(super().list_commands(ctx)) | {
            n for n, target in LAZY_COMMANDS.items() if _module_exists(target)})

    def get_command(self, ctx, name):
        cmd = super().get_command(ctx, name)
        if cmd is None and name in LAZY_COMMANDS and _module_exists(LAZY_COMMANDS[name]):
            import importlib

            module, attr = LAZY_COMMANDS[name].split(":")
            cmd = getattr(importlib.import_module(module), attr)
        return cmd

    def parse_args(self, ctx, args):
        # kept so that an error can be reported as JSON when --json was asked for, even one
        # raised while the subcommand's own options are parsed
        ctx.meta["searchkit.args"] = list(args)
        return super().parse_args(ctx, args)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except BrokenPipeError:  # `search query ... | head -3`: the reader has gone
            _quiet_broken_pipe()
        except BadUsage as e:
            raise _as_json(ctx, click.UsageError(str(e), ctx=None)) from None
        except SearchkitError as e:
            raise _as_json(ctx, click.ClickException(str(e))) from None
        except KeyboardInterrupt:
            click.echo("Interrupted; everything committed so far is kept.", err=True)
            sys.exit(130)
        except click.ClickException as e:  # click's own usage errors, and the commands'
            raise _as_json(ctx, e) from None
        except (click.exceptions.Exit, click.Abort, SystemExit):
            raise
        except Exception as e:  # never a traceback for users; SEARCHKIT_DEBUG=1 shows it
            if os.environ.get("SEARCHKIT_DEBUG"):
                raise
            raise _as_json(ctx, click.ClickException(
                f"internal error: {type(e).__name__}: {e} (SEARCHKIT_DEBUG=1 shows details)"
            )) from None


class JsonError(click.ClickException):
    """An error under ``--json``: ``{"error": MESSAGE, "exit_status": N}`` on stdout (where
    the program reading the JSON reads), with the exit status it has without --json."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code  # type: ignore[misc]  # click declares it per class

    def show(self, file=None) -> None:
        click.echo(json.dumps({"error": self.message, "exit_status": self.exit_code},
                              ensure_ascii=False))


def _as_json(ctx, e: click.ClickException) -> click.ClickException:
    """``e`` as a :class:`JsonError` when the command line asks for --json."""
    args = ctx.meta.get("searchkit.args", [])
    args = args[:args.index("--")] if "--" in args else args
    if "--json" in args and not isinstance(e, JsonError):
        return JsonError(e.format_message(), e.exit_code)
    return e


def _quiet_broken_pipe() -> None:
    """Exit as quietly as a process killed by SIGPIPE would (status 141): stdout points at
    /dev/null so that the interpreter's last flush cannot fail again (the recipe of
    Python's signal module documentation, "Note on SIGPIPE")."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no real file descriptor (tests)
        pass
    sys.exit(EXIT_BROKEN_PIPE)


def _module_exists(target: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(target.split(":")[0]) is not None


def setup_logging(quiet: bool) -> None:
    import logging

    log = logging.getLogger("searchkit")
    if not log.handlers:
        h = logging.StreamHandler(sys.stderr)
        h.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(h)
    log.setLevel(logging.ERROR if quiet else logging.INFO)
    log.propagate = False


index_option = click.option(
    "--index", "index_dir", type=click.Path(file_okay=False), envvar="SEARCHKIT_INDEX",
    default=None, show_envvar=True,
    help="Index directory. [default: <per-user data folder>/default, e.g. "
         "~/.local/share/searchkit/default; $SEARCHKIT_HOME/default when set]")
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


def filter_options(f):
    """--path / --ext / --modified-after, applied before the vector search."""
    f = click.option("--modified-after", type=click.DateTime(), default=None, metavar="DATE",
                     help="Only documents modified after DATE (YYYY-MM-DD[ HH:MM:SS]).")(f)
    f = click.option("--ext", multiple=True, metavar="EXT",
                     help="Only files with this extension (md, .pdf ...); repeatable.")(f)
    f = click.option("--path", "path_glob", multiple=True, metavar="GLOB",
                     help="Only files whose path matches GLOB; repeatable.")(f)
    return f


def filter_kwargs(path_glob, ext, modified_after) -> dict:
    out = {}
    if path_glob:
        out["path"] = list(path_glob)
    if ext:
        out["ext"] = list(ext)
    if modified_after:
        out["modified_after"] = modified_after
    return out


def index_path(index_dir):
    from ..config import default_index_path

    return index_dir or str(default_index_path())


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="searchkit", prog_name="searchkit")
@click.pass_context
def cli(ctx):
    """searchkit: semantic search over your own documents, offline, on a CPU.

    \b
    Quick start (the samples in their own index, apart from your documents):
      search index sample_corpus --index indexes/sample
      search query "how do rivers wear away their sides" --index indexes/sample

    \b
    Output: bold highlights only on a terminal, never with NO_COLOR set. Errors are one
    "Error: ..." line on stderr (under --json: {"error": ..., "exit_status": N} on stdout).
    Exit status: 0 ok, 1 runtime error, 2 usage error, 141 when the reader of the output
    goes away (| head), plus each command's own (see its --help).
    """
    if no_color():
        ctx.color = False


@cli.command("index")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@index_option
@click.option("--include", multiple=True, metavar="GLOB",
              help="Only files matching GLOB (name or relative path); repeatable.")
@click.option("--exclude", multiple=True, metavar="GLOB",
              help="Skip files and folders matching GLOB; repeatable.")
@click.option("--encoder", default=None,
              help="Encoder for a new index: minilm-int8 (ONNX, quantised), minilm-onnx (ONNX "
                   "fp32), minilm (torch: needs searchkit[torch]), or a tuned model name/path. "
                   "[default: minilm-int8, or the index's own]")
@click.option("--chunk-size", type=click.IntRange(16, 512), default=None,
              help="Chunk size in tokens for a new index (special tokens included). [default: 256]")
@click.option("--overlap", type=click.IntRange(0, 256), default=None,
              help="Tokens shared by consecutive chunks, for a new index. [default: 32]")
@click.option("--vector-index", type=click.Choice(["auto", "flat", "hnsw"]), default=None,
              help="Vector search: flat (exact), hnsw (approximate, for large indexes) or "
                   "auto (exact up to 200,000 chunks, HNSW above); kept in the manifest. "
                   "[default: auto, or the index's own]")
@click.option("--dry-run", is_flag=True, help="Print what a sync would do; write nothing.")
@click.option("--rebuild", is_flag=True,
              help="Build the index anew (e.g. with another --encoder); the old one stays "
                   "usable until the new one is complete.")
@click.option("--max-file-mb", type=click.FloatRange(min=0, min_open=True), default=None,
              envvar="SEARCHKIT_MAX_FILE_MB", show_envvar=True, metavar="MB",
              help="Skip files larger than MB megabytes. [default: 50]")
@click.option("--follow-outside", is_flag=True,
              help="Follow symlinks that lead outside PATHS (skipped and reported by default).")
@click.option("--no-ignore", is_flag=True,
              help="Index what .gitignore and .searchignore files exclude.")
@click.option("--engine", type=click.Choice(["local", "ray"]), default="local",
              show_default=True, help="Where files are read, chunked and embedded: here, "
              "or on Ray (pip install 'searchkit[ray]'); this process writes the index.")
@click.option("--address", default=None, metavar="HOST:PORT",
              help="--engine ray: the Ray cluster's head. [default: a Ray started for the run]")
@click.option("--actors", type=click.IntRange(1), default=None, metavar="N",
              help="--engine ray: encoder actors. [default: one per CPU of the cluster]")
@click.option("--store", default=None, metavar="URL", envvar="SEARCHKIT_STORE",
              help="Also load the synced index into Postgres + pgvector at URL "
                   "(postgresql://...; pip install 'searchkit[postgres]').")
@click.option("-v", "--verbose", is_flag=True, help="List every skipped file.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or summary.")
@json_option
def index_cmd(paths, index_dir, include, exclude, encoder, chunk_size, overlap, vector_index,
              dry_run, rebuild, max_file_mb, follow_outside, no_ignore, engine, address,
              actors, store, verbose, quiet, as_json):
    """Index (or re-sync) the documents under PATHS.

    Reads .txt .md .rst .html .pdf .docx .odt .epub .ipynb .eml .mbox .pptx and common
    source files (`search formats` lists them), recursively (hidden folders skipped). Re-running syncs the given PATHS only: new and changed files (by content) are
    indexed, only chunk text the index has not embedded before is sent to the encoder, moved
    files keep their vectors and deleted files leave the index; documents indexed from other
    paths are untouched. Files that cannot be indexed (binary, empty, too large, broken or
    encrypted PDF, unreadable, vanished, symlink loops) are skipped with their reason; an
    indexed file that fails to read keeps its previous entry.

    Safe to interrupt or kill: the index keeps every committed batch, and re-running
    finishes the work. Only one process may write an index at a time; queries keep working
    during a write.

    \b
    On Ray (pip install 'searchkit[ray]'); this process still writes the index:
      search index docs/ --engine ray                          # a Ray started for the run
      search index docs/ --engine ray --address HEAD_IP:6379   # a running cluster

    \b
    Exit status:
      0  every file was indexed (or is unchanged)
      3  some files were skipped (listed in the summary; unsupported file types
         do not count)
      1  error (nothing skipped silently: e.g. another process is writing the index,
         or --encoder differs from the index's without --rebuild)

    \b
    Examples:
      search index ~/notes
      search index ~/notes --exclude 'drafts/*' --include '*.md' --dry-run
      search index docs/ --index indexes/docs --encoder minilm-int8
      search index docs/ --encoder minilm-int8 --rebuild
      search index docs/ --store postgresql://localhost/search   # also load into Postgres
    """
    setup_logging(quiet or as_json)
    from ..api import index_paths

    bar = ProgressBar(disabled=quiet or as_json)
    try:
        report = index_paths(paths, index=index_path(index_dir), include=include,
                             exclude=exclude, encoder=encoder, chunk_size=chunk_size,
                             overlap=overlap, dry_run=dry_run, rebuild=rebuild,
                             progress=bar.update, max_file_mb=max_file_mb,
                             vector_index=vector_index, follow_outside=follow_outside,
                             ignore=not no_ignore, engine=engine, address=address,
                             actors=actors, store=store)
    finally:
        bar.close()
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    elif not quiet:
        click.echo(_summary(report, verbose))
    if report.problems:
        sys.exit(EXIT_SKIPPED)


class ProgressBar:
    """tqdm on stderr, with rate and ETA; created when the total is known."""

    def __init__(self, disabled: bool):
        self.disabled = disabled
        self.bar = None

    def update(self, phase: str, n: int, total: int | None) -> None:
        if self.disabled:
            return
        if total is not None:  # a streamed sync raises its total as files are chunked
            if self.bar is None and total > 0:
                from tqdm import tqdm

                self.bar = tqdm(total=total, unit="chunk", desc="Embedding", file=sys.stderr,
                                dynamic_ncols=True, disable=None)
            elif self.bar is not None and total > (self.bar.total or 0):
                self.bar.total = total
                self.bar.refresh()
            return
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _summary(r, verbose: bool) -> str:
    head = "Dry run (nothing written): " if r.dry_run else ""
    lines = [
        f"{head}{r.files_indexed} files indexed ({len(r.new)} new, {len(r.changed)} changed, "
        f"{len(r.renamed)} moved), {len(r.unchanged)} unchanged, {len(r.deleted)} removed, "
        f"{len(r.skipped)} skipped.",
    ]
    if r.dry_run:
        lines.append(f"Chunks: +{r.chunks_added} -{r.chunks_removed}, would embed "
                     f"{r.chunks_embedded}.")
    else:
        rate = (f", {r.chunks_embedded / r.seconds:.1f} chunks/s"
                if r.seconds and r.chunks_embedded else "")
        lines.append(f"Chunks: +{r.chunks_added} -{r.chunks_removed}, embedded "
                     f"{r.chunks_embedded} in {r.seconds:.1f} s{rate}.")
    if r.skipped:
        reasons: dict[str, list[str]] = {}
        for s in r.skipped:
            reasons.setdefault(s.reason, []).append(s.path)
        for reason, files in sorted(reasons.items(), key=lambda kv: -len(kv[1])):
            shown = files if verbose else files[:3]
            more = f" (+{len(files) - len(shown)} more; -v lists all)" if len(files) > len(shown) else ""
            lines.append(f"Skipped {len(files)} ({terminal_safe(reason)}): "
                         + ", ".join(terminal_safe(f) for f in shown) + more)
    return "\n".join(lines)


def fusion_options(f):
    """--fuse / --weights / --combine / --rrf-k: what the hybrid method fuses, and how."""
    f = click.option("--rrf-k", type=click.FloatRange(min=0), default=None, metavar="K",
                     help="Hybrid: the reciprocal rank fusion constant (implies --combine "
                          "rrf). [default: 60]")(f)
    f = click.option("--combine", type=click.Choice(["zscore", "rrf"]), default=None,
                     help="Hybrid: zscore (each method's scores standardised over its 100 "
                          "best, then their weighted mean) or rrf (reciprocal rank fusion "
                          "of the ranks). [default: zscore]")(f)
    f = click.option("--weights", default=None, metavar="W,W",
                     help="Hybrid: one weight per fused method. [default: 1 each]")(f)
    f = click.option("--fuse", default=None, metavar="M,M",
                     help="Hybrid: the methods fused. [default: dense,bm25]")(f)
    return f


def fusion_kwargs(fuse, weights, rrf_k, combine=None) -> dict:
    return {k: v for k, v in (("fuse", fuse), ("weights", weights), ("rrf_k", rrf_k),
                              ("combine", combine)) if v is not None}


METHOD_HELP = ("dense (the contextual encoder), tfidf, bm25, glove (mean GloVe vectors) or "
               "hybrid (dense and bm25 fused by z-scores; the bm25 side counts by how much of "
               "the question the text holds). [default: hybrid, the best measured on the dev "
               "sets: SciFact train, pydocs, manpages] For questions phrased in other words than the documents, "
               "dense alone can do better. The static baselines (tfidf, bm25, glove) are "
               "built on first use and saved under <index>/baselines/; they are rebuilt "
               "on the first use after the index changes.")


@cli.command("query")
@click.argument("text")
@index_option
@click.option("-k", "--top", "k", type=click.IntRange(1, 1000), default=10, show_default=True,
              help="Number of results.")
@click.option("--method", "-m", default=None, metavar="METHOD", help=METHOD_HELP)
@fusion_options
@click.option("--chunks", is_flag=True,
              help="Raw chunks (several per document) instead of one hit per document.")
@click.option("--diverse", is_flag=True,
              help="Re-rank for variety (maximal marginal relevance): fewer near-duplicates.")
@click.option("--highlight/--no-highlight", default=True, show_default=True,
              help="Mark each hit's best-matching sentence(s) (bold; spans in --json).")
@filter_options
@click.option("--store", default=None, metavar="URL", envvar="SEARCHKIT_STORE",
              help="Search the index loaded into Postgres at URL (postgresql://...); "
                   "methods there: dense (default), fts (Postgres full-text), hybrid.")
@json_option
def query_cmd(text, index_dir, k, method, fuse, weights, rrf_k, combine, chunks, diverse, highlight,
              path_glob, ext, modified_after, store, as_json):
    """Rank passages of the index by meaning for the question TEXT.

    Filters (--path, --ext, --modified-after) apply before the search, so k hits come back
    whenever k matching passages exist. In --json, "highlights" are [start, end] character
    spans of the hit's "text" ("highlights_in_document": of the whole document).

    \b
    Examples:
      search query "how do rivers wear away their sides" -k 5
      search query "bank fees" --method bm25 --ext md --path 'finance/*'
      search query "loan terms" --json | jq '.hits[0].citation'
      search query "loan terms" --store postgresql://localhost/search
    """
    from ..api import search

    hits = search(text, index=index_path(index_dir), store=store, k=k, method=method,
                  group=not chunks,
                  diverse=diverse, highlight=highlight, **fusion_kwargs(fuse, weights, rrf_k, combine),
                  **filter_kwargs(path_glob, ext, modified_after))
    if as_json:
        click.echo(json.dumps({"query": text, "hits": [h.to_dict() for h in hits]},
                              indent=2, ensure_ascii=False))
        return
    if not hits:
        click.echo("No results.")
    for h in hits:
        click.echo(format_hit(h))


def format_hit(h, width: int = 100) -> str:
    """A hit for people: rank, where its best sentence stands (path:line, path#page=N),
    relevance 0-1 (raw score when the method has no scale), title, heading, snippet."""
    title = f"  {terminal_safe(h.title)}" if h.title else ""
    score = f"{h.relevance:.2f}" if h.relevance is not None else f"score {h.score:.3f}"
    head = click.style(f"{h.rank:>2}. {terminal_safe(h.citation)}", bold=True) + \
        f"  [{score}]{title}"
    if h.heading and h.heading != h.title:
        head += click.style(f"  § {terminal_safe(h.heading)}", dim=True)
    body = textwrap.indent(textwrap.fill(_snippet(h.text, h.highlights), width - 4), "    ")
    on, off = click.style("\0", bold=True, fg="yellow").split("\0")
    return f"{head}\n{body.replace(_ON, on).replace(_OFF, off)}\n"


_ON, _OFF = "\x01", "\x02"  # highlight marks: survive wrapping, become styles after it


def _snippet(text: str, highlights, limit: int = 320) -> str:
    """The text with whitespace collapsed, control characters escaped and highlights
    marked, cut to about ``limit`` characters around the first highlight."""
    parts, pos = [], 0
    for a, b in sorted(highlights):
        parts += [terminal_safe(text[pos:a], keep="\n\t\r"),
                  _ON + " ".join(terminal_safe(text[a:b], keep="\n\t\r").split()) + _OFF]
        pos = b
    parts.append(terminal_safe(text[pos:], keep="\n\t\r"))
    snippet = " ".join("".join(parts).split())
    first = snippet.find(_ON)
    if first > limit // 3:
        cut = snippet.rfind(". ", 0, first)
        start = cut + 2 if cut >= first - limit // 3 else snippet.find(" ", first - limit // 3) + 1
        snippet = "... " + snippet[start:]
    if len(snippet) > limit:
        snippet = snippet[:limit - 3].rsplit(" ", 1)[0] + " ..."
        if snippet.count(_ON) > snippet.count(_OFF):
            snippet += _OFF
    return snippet


@cli.command("stats")
@index_option
@json_option
def stats_cmd(index_dir, as_json):
    """Documents, chunks, encoder, dimension, size on disk, last sync and saved baselines
    of an index. With --json, sizes are in bytes and the last sync is Unix time.

    \b
    Examples:
      search stats
      search stats --index indexes/docs --json
    """
    from ..api import stats

    s = stats(index=index_path(index_dir))
    if as_json:
        click.echo(json.dumps(s, indent=2))
        return
    click.echo(_format_stats(s))


def _format_stats(s: dict) -> str:
    import datetime

    last = s.get("last_sync")
    last = (datetime.datetime.fromtimestamp(last).strftime("%Y-%m-%d %H:%M:%S")
            if last else "never")
    c = s.get("chunking") or {}
    rows = [
        ("Index", s["path"]),
        ("Documents", f"{s['documents']:,}"),
        ("Chunks", f"{s['chunks']:,}"),
        ("Encoder", f"{s['encoder']} ({s['dim']}-d"
                    + (f", revision {s['encoder_revision']})" if s.get("encoder_revision") else ")")),
        ("Chunking", f"{c.get('max_tokens')} tokens, overlap {c.get('overlap')}"),
        ("Size on disk", _human_bytes(s["bytes_on_disk"])),
        ("Last sync", last),
        ("Baselines", ", ".join(s.get("baselines") or {}) or "none"),
        ("Format", f"{s['format_version']} (searchkit {s['searchkit_version']})"),
    ]
    return "\n".join(f"{k + ':':<14}{v}" for k, v in rows)


def _human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def main():  # console-script entry point
    cli(prog_name="search")


if __name__ == "__main__":
    main()
