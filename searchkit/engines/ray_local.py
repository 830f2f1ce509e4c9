"""``python -m searchkit.engines.ray_local start ...``: Ray's own ``ray start``, with this
machine's address taken to be 127.0.0.1, so that a head and further nodes on one machine
(tests, benchmarks, a laptop) listen on loopback only. Plain ``ray start
--node-ip-address 127.0.0.1`` resolves 127.0.0.1 to the outward address and listens on
all interfaces. For a real cluster, use ``ray start`` with the nodes' own addresses."""

from __future__ import annotations

import sys


def main() -> None:
    import ray._private.services as services
    from ray.scripts.scripts import main as ray_main

    services.node_ip_address_from_perspective = lambda address=None: "127.0.0.1"
    sys.argv[0] = "ray"
    ray_main()


if __name__ == "__main__":
    main()
