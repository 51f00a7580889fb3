"""HTTPS for the live server: a throwaway CA and a TLS front before waitress.

waitress speaks plain HTTP only, and its event loop reads sockets in ways TLS records do not fit
(a readable socket may hold half a record; a decrypted record may wait in the TLS layer while the
socket looks idle). So TLS ends in front of it: :class:`TLSFront` accepts on the public address,
does the handshake on a thread per connection, and pipes the plain bytes to waitress on a private
loopback port. waitress keeps doing everything else (limits, AM's error answers, the journal) as
over HTTP, told by ``url_scheme="https"`` that its clients see an ``https`` URL.

The certificate, for ``127.0.0.1``, ``::1`` and ``localhost``, comes from trustme, a well-kept
library made for exactly this: a CA that exists for one run. Its certificate is written to a PEM
file a client can trust (``verify=`` in requests, ``cafile=`` for httpx's SSL context).
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import select
import socket
import socketserver
import ssl
import tempfile
import threading
from typing import Any

from .errors import ConfigError
from .paths import server_url

HANDSHAKE_TIMEOUT = 10.0
IDLE_TIMEOUT = 30.0  # as waitress's channel_timeout
CONNECTION_LIMIT = 200  # as waitress's connection_limit
CHUNK = 65536


def make_certificate(ca_path: str | None = None) -> tuple[ssl.SSLContext, str]:
    """A server context with a fresh certificate for the loopback names, and the path of the PEM
    file holding the CA that signed it (``ca_path``, or a new temporary file)."""
    import trustme  # cryptography's x509 costs tens of milliseconds: only a TLS run pays them

    ca = trustme.CA(organization_name="mock-as throwaway test CA")
    cert = ca.issue_cert("127.0.0.1", "::1", "localhost")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    if ca_path is None:
        fd, ca_path = tempfile.mkstemp(prefix="mock-as-ca-", suffix=".pem")
        os.close(fd)
    try:
        ca.cert_pem.write_to_path(ca_path)
    except OSError as e:
        raise ConfigError(f"tls_ca: cannot write {ca_path}: {e.strerror}") from None
    return context, ca_path


def _pipe(tls: ssl.SSLSocket, upstream: socket.socket) -> None:
    """Copy bytes both ways until either side closes or both stay idle for ``IDLE_TIMEOUT``."""
    peers = {tls: upstream, upstream: tls}
    while True:
        ready = [tls] if tls.pending() else select.select(list(peers), [], [], IDLE_TIMEOUT)[0]
        if not ready:
            return
        for sock in ready:
            try:
                data = sock.recv(CHUNK)
            except ssl.SSLWantReadError:
                continue
            except OSError:
                return
            if not data:
                return
            try:
                peers[sock].sendall(data)
            except OSError:
                return


class _Connection(socketserver.BaseRequestHandler):
    server: TLSFront

    def handle(self) -> None:
        raw: socket.socket = self.request
        raw.settimeout(HANDSHAKE_TIMEOUT)
        try:
            tls = self.server.context.wrap_socket(raw, server_side=True)
        except (OSError, ValueError):
            return  # a failed handshake (a client that does not trust us, plain HTTP …)
        try:
            upstream = socket.create_connection(self.server.upstream, timeout=IDLE_TIMEOUT)
        except OSError:
            tls.close()
            return
        with tls, upstream:
            tls.settimeout(IDLE_TIMEOUT)
            _pipe(tls, upstream)


class TLSFront(socketserver.ThreadingTCPServer):
    """Accept TLS on ``(host, port)`` and pass the plain bytes to ``upstream``.

    :param ca_path: where to write the CA's PEM (``ca_path``); ``None`` writes a temporary file,
        removed by :meth:`close`.
    """

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, host: str, port: int, upstream: tuple[str, int], ca_path: str | None = None) -> None:
        self.context, self.ca_path = make_certificate(ca_path)
        self._temporary = ca_path is None
        self.upstream = upstream
        self._slots = threading.BoundedSemaphore(CONNECTION_LIMIT)
        try:
            self.address_family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
            super().__init__((host, port), _Connection)
        except BaseException:
            self._forget_ca()
            raise
        self._thread: threading.Thread | None = None

    def verify_request(self, request: Any, client_address: Any) -> bool:
        return self._slots.acquire(blocking=False)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    @property
    def port(self) -> int:
        """The port bound."""
        return int(self.server_address[1])

    def url(self, context_path: str) -> str:
        """``https://<host>:<port><context path>``."""
        host = str(self.server_address[0])
        with contextlib.suppress(ValueError):
            if ipaddress.ip_address(host).is_unspecified:
                host = "127.0.0.1" if self.address_family == socket.AF_INET else "::1"
        return server_url(host, self.port, context_path, scheme="https")

    def start(self) -> TLSFront:
        """Serve on a background thread."""
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop accepting and free the port (connections in flight end on their own)."""
        if self._thread is not None:
            self.shutdown()
            self._thread.join(5)
            self._thread = None
        self.server_close()
        self._forget_ca()

    def _forget_ca(self) -> None:
        if self._temporary:
            with contextlib.suppress(OSError):
                os.unlink(self.ca_path)
