"""Baseline token server: a fixed JSON body served by waitress.

Every POST gets the same canned OAuth2 token response, with no request
parsing beyond draining the body. Because it runs on the same WSGI server
(waitress, with as many worker threads as the mock it is compared with) as
the real mock, the throughput gap between the two measures the application's
own cost rather than the server's.

Usage::

    python bench/canned_server.py <port> [--threads N]

Binds 127.0.0.1:<port> (0 picks a free port) and prints ``READY <port>`` on
stdout once the socket is listening.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING

from waitress.server import create_server

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

HOST = "127.0.0.1"
THREADS = 4  # waitress's default

TOKEN_BODY: bytes = (
    b'{"access_token":"sbQZuveFumUDV5R1vVBl6QAGNB8","scope":"write","token_type":"Bearer","expires_in":3599}'
)

_OK_HEADERS: list[tuple[str, str]] = [
    ("Content-Type", "application/json"),
    ("Cache-Control", "no-store"),
    ("Pragma", "no-cache"),
    ("Content-Length", str(len(TOKEN_BODY))),
]
_NOT_ALLOWED_HEADERS: list[tuple[str, str]] = [
    ("Allow", "POST"),
    ("Content-Length", "0"),
]
_DRAIN_CHUNK = 64 * 1024


def _drain(environ: WSGIEnvironment) -> None:
    """Read and discard the request body so keep-alive stays well-formed."""
    stream = environ["wsgi.input"]
    while stream.read(_DRAIN_CHUNK):
        pass


def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    """WSGI callable answering any POST with the canned token JSON.

    Other methods get ``405 Method Not Allowed`` with an empty body.
    """
    if environ.get("REQUEST_METHOD") != "POST":
        start_response("405 Method Not Allowed", list(_NOT_ALLOWED_HEADERS))
        return [b""]
    _drain(environ)
    start_response("200 OK", list(_OK_HEADERS))
    return [TOKEN_BODY]


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, bind the socket, announce readiness and serve forever."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("port", type=int, help="TCP port on 127.0.0.1 (0 = any free port)")
    parser.add_argument(
        "--quiet-queue",
        action="store_true",
        help="silence waitress's per-request 'Task queue depth' warnings",
    )
    parser.add_argument("--threads", type=int, default=THREADS, help=f"worker threads (default {THREADS})")
    args = parser.parse_args(argv)
    if args.quiet_queue:
        logging.getLogger("waitress.queue").setLevel(logging.ERROR)

    server = create_server(
        app,
        host=HOST,
        port=args.port,
        threads=args.threads,
        clear_untrusted_proxy_headers=False,  # as the mock's server: no proxy-header middleware
    )
    # Turn SIGTERM into a normal exit so the listening socket is closed cleanly.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(0))
    # The socket is bound and listening once create_server returns.
    port = server.effective_port  # type: ignore[union-attr]
    sys.stdout.write(f"READY {port}\n")
    sys.stdout.flush()
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
