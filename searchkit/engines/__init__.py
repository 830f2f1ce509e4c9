"""Where indexing work runs. The local path (reader and encoder threads) lives in
:mod:`searchkit.pipeline`; an engine here is an alternative that reads, chunks and embeds
elsewhere and hands the one writer the same documents with their vectors (see
:meth:`searchkit.index.Index.add_paths`'s ``pipeline``)."""

from __future__ import annotations

ENGINES = ("local", "ray")


def get_pipeline(engine: str | None, address: str | None = None,
                 actors: int | None = None):
    """The ``pipeline`` for :meth:`~searchkit.index.Index.add_paths`: None for ``local``.

    Raises:
        BadUsage: unknown engine, or ``address``/``actors`` without ``ray``.
    """
    from ..errors import BadUsage

    engine = engine or "local"
    if engine not in ENGINES:
        raise BadUsage(f"unknown engine {engine!r}: use one of {', '.join(ENGINES)}")
    if engine == "local":
        if address or actors:
            raise BadUsage("--address and --actors need --engine ray")
        return None
    from .ray_ingest import RayPipeline

    return RayPipeline(address=address, actors=actors)
