"""Raw HTTP/1.1 on a socket, for what no client library would send."""

from __future__ import annotations

import http.client
import io
import socket
from typing import Any

import pytest

SOCKET_TIMEOUT = 15.0
"""Generous: a server that hangs fails the test, a slow machine does not."""


def exchange_raw(port: int, data: bytes) -> bytes:
    """Send ``data``, half-close, and read until the server closes (or the generous timeout)."""
    with socket.create_connection(("127.0.0.1", port), timeout=SOCKET_TIMEOUT) as s:
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server may answer and close before it has read everything
        chunks = []
        try:
            while chunk := s.recv(65536):
                chunks.append(chunk)
        except ConnectionResetError:
            pass  # it closed with our bytes unread: what it wrote first still counts
        except TimeoutError:
            pytest.fail(f"no answer and no close within {SOCKET_TIMEOUT} s for {data[:200]!r}")
    return b"".join(chunks)


class _Bytes(io.BytesIO):
    def makefile(self, *args: Any, **kwargs: Any) -> io.BytesIO:
        return self


def parse_response(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """The first HTTP response in ``raw``."""
    r = http.client.HTTPResponse(_Bytes(raw))  # type: ignore[arg-type]
    r.begin()
    return r.status, dict(r.getheaders()), r.read()
