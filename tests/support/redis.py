"""A real ``redis-server`` per test, on a free loopback port, with nothing written to disk.

Without ``redis-server`` on the PATH the tests that use ``redis_server`` are skipped with the reason;
with ``MOCK_AS_REQUIRE_REDIS=1`` (set by ``.ci/run``) they fail instead.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .browser import unavailable

START_TIMEOUT = 10.0  # seconds for redis-server to answer PING


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _ping(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """One ``redis-server`` process: ``url`` is ``redis://127.0.0.1:PORT/0``; ``stop()``, ``start()``
    and ``restart()`` keep the same port, so a client configured with ``url`` reconnects to it."""

    def __init__(self, executable: str, directory: Path, host: str = "127.0.0.1") -> None:
        self.executable = executable
        self.directory = directory
        self.host = host
        self.port = free_port(host)
        self.url = f"redis://{host}:{self.port}/0"
        self._process: subprocess.Popen[bytes] | None = None
        self._log = directory / "redis.log"

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start the server (no RDB, no AOF, ``--dir`` a temporary directory) and wait for PING."""
        if self.running:
            return
        argv = [
            self.executable,
            "--port", str(self.port),
            "--bind", self.host,
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.directory),
            "--logfile", str(self._log),
            "--daemonize", "no",
        ]  # fmt: skip
        self._process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT
        while not _ping(self.host, self.port):
            if self._process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self._process.returncode}: {self.log()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"redis-server did not answer PING within {START_TIMEOUT}s: {self.log()}")
            time.sleep(0.02)

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 5 s) and wait for it to exit."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)

    def kill(self) -> None:
        """Kill the server at once (SIGKILL), as a crash would."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(5)
        self._process = None

    def restart(self) -> None:
        """``stop()`` then ``start()`` on the same port."""
        self.stop()
        self.start()

    def log(self) -> str:
        """The tail of the server's log file."""
        try:
            return self._log.read_text(errors="replace")[-2000:]
        except OSError:
            return "(no log)"


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A fresh ``redis-server`` on 127.0.0.1 and a free port, answering PING; stopped after the
    test. ``redis_server.url`` is ``redis://127.0.0.1:PORT/0``."""
    executable = shutil.which("redis-server")
    if executable is None:
        unavailable("no redis-server on the PATH (apt-get install redis-server)", "MOCK_AS_REQUIRE_REDIS")
    directory = tmp_path / "redis"
    directory.mkdir()
    server = RedisServer(executable, directory)
    server.start()
    try:
        yield server
    finally:
        server.stop()
