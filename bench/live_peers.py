"""Load-test the reference peer servers on loopback and print the results.

Starts each selected peer, drives its token endpoint with a password-grant
POST via :func:`load.run_wrk`, stops it, and prints one JSON object per peer.

Prerequisites (once per machine / CI job)::

    apt-get update && apt-get install -y wrk
    npm ci --prefix bench/peers

Usage::

    python bench/live_peers.py [--duration 3] [--connections 16] [--threads 2]
                               [--peer canned] [--peer canned-quiet] [--peer axa]

Without ``--peer`` all peers run. ``canned-quiet`` is the canned baseline with
waitress's per-request "Task queue depth" warnings silenced.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from load import READY_REGEX, run_wrk, start_process, stop_process

HERE = Path(__file__).resolve().parent

#: Form body of the password grant sent to every peer.
PASSWORD_GRANT_BODY = (
    "grant_type=password&username=demo&password=Ch4ng31t&scope=write"
    "&client_id=myClient&client_secret=forgerock"
)

#: Peer name -> (command line, token endpoint path).
PEERS: dict[str, tuple[list[str], str]] = {
    "canned": ([sys.executable, str(HERE / "canned_server.py"), "0"], "/token"),
    "canned-quiet": (
        [sys.executable, str(HERE / "canned_server.py"), "0", "--quiet-queue"],
        "/token",
    ),
    "axa": (["node", str(HERE / "peers" / "axa_server.js"), "0"], "/token"),
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the selected peers one after another and print their results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer", action="append", choices=sorted(PEERS))
    parser.add_argument("--duration", type=float, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)

    for name in args.peer or list(PEERS):
        cmd, path = PEERS[name]
        proc, port = start_process(cmd, READY_REGEX)
        try:
            result = run_wrk(
                f"http://127.0.0.1:{port}{path}",
                PASSWORD_GRANT_BODY,
                duration=args.duration,
                connections=args.connections,
                threads=args.threads,
            )
        finally:
            stop_process(proc)
        sys.stdout.write(json.dumps({"peer": name, **result}) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
