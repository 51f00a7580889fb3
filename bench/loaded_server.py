"""The mock's server holding many live tokens before its first request.

What ``mock-as serve --seed 0`` serves (the same state, WSGI app and waitress server with the same
threads), with its token store first filled with ``TOKENS`` live access tokens of the documented
ROPC request's client, user and scope (issued through :meth:`mock_as.State.issue`, lifetime one
hour), so that a load run measures latency with a full store, garbage collections included.

Usage::

    python bench/loaded_server.py <port> <tokens>

Binds 127.0.0.1:<port> (0 picks a free port) and prints ``READY <port>`` once the tokens are in
and the socket is listening.
"""

from __future__ import annotations

import argparse
import gc
import signal
import sys
import time
from typing import Any


def main(argv: list[str] | None = None) -> int:
    """Fill the store, bind, announce readiness and serve until SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("port", type=int)
    parser.add_argument("tokens", type=int)
    args = parser.parse_args(argv)

    from mock_as import MockASConfig, State
    from mock_as.server import make_wsgi_server

    state = State(MockASConfig(seed=0, port=args.port))
    start = time.perf_counter()
    issue = state.issue
    for _ in range(args.tokens):
        issue(
            kind="access_token",
            realm="/",
            client_id="myClient",
            username="demo",
            scopes=("write",),
            grant_type="password",
            lifetime=3600,
        )
    gc.collect()
    sys.stderr.write(f"{len(state.tokens):,} live tokens in {time.perf_counter() - start:.1f} s\n")
    server = make_wsgi_server(state, "127.0.0.1", args.port)

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    sys.stdout.write(f"READY {server.effective_port}\n")
    sys.stdout.flush()
    try:
        server.run()
    except KeyboardInterrupt:
        server.task_dispatcher.shutdown()
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
