"""``search serve``: the index over HTTP (a JSON API and a web page). Needs the ``serve``
extra (fastapi, uvicorn); :mod:`searchkit.serve.core` alone needs neither."""
