"""Store: ``mock-as serve`` with its state in Redis, 1, 2 and 4 workers, vs one process in memory.

A ``redis-server`` (Debian's) runs on a free loopback port with nothing written to disk. ``wrk`` POSTs
the ROPC form to each set-up in turn, round after round; the throughputs are medians over the rounds.
Then, in process, what the store costs one token request: Redis round trips (each a write of one
command or one pipeline, and its answer) and the time beside the in-memory state.

Needs ``wrk`` and ``redis-server``. Run alone: ``python bench/store.py [--quick]``.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import TOKEN_BODY, TOKEN_PATH, Row, fmt_ratio, fmt_us, log, median, section_main, skipped
from live import mock_command
from load import LoadError, run_wrk, start_process, stop_process

SECTION = "Store"
MOCK_READY = r"^http://127\.0\.0\.1:(?P<port>\d+)\S*\s*$"
WORKERS = (1, 2, 4)
CONNECTIONS = 16


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _redis(directory: str) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    proc = subprocess.Popen([*argv, "--dir", directory], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return proc, f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise LoadError("redis-server did not answer PING")


def _throughput(args: list[str], duration: float) -> float:
    proc, port = start_process(
        [*mock_command(), "serve", "-q", "--port", "0", "--seed", "1", *args], MOCK_READY
    )
    try:
        url = f"http://127.0.0.1:{port}/openam{TOKEN_PATH}"
        run_wrk(url, TOKEN_BODY, duration=0.5, connections=CONNECTIONS)  # warm up
        result = run_wrk(url, TOKEN_BODY, duration=duration, connections=CONNECTIONS)
        if result["non_2xx"] or result["socket_errors"]:
            raise LoadError(f"errors under load: {result}")
        return float(result["requests_per_sec"])
    finally:
        stop_process(proc)


def _per_request(url: str | None, calls: int) -> tuple[float, float]:
    """Seconds per token request through the Flask app, and Redis round trips per request."""
    import redis.connection
    from mock_as.app import create_app
    from mock_as.config import MockASConfig
    from mock_as.state import State

    sent = [0]
    original = redis.connection.Connection.send_packed_command

    def counting(self: object, command: object, check_health: bool = True) -> None:
        sent[0] += 1
        original(self, command, check_health)  # type: ignore[arg-type]

    redis.connection.Connection.send_packed_command = counting  # type: ignore[method-assign]
    try:
        state = State(MockASConfig(seed=1, store=url, store_namespace="bench"))
        client = create_app(state=state).test_client()
        form = dict(part.split("=", 1) for part in TOKEN_BODY.split("&"))
        path = f"/openam{TOKEN_PATH}"
        for _ in range(50):
            client.post(path, data=form)
        sent[0] = 0
        started = time.perf_counter()
        for _ in range(calls):
            answer = client.post(path, data=form)
            assert answer.status_code == 200, answer.data
        elapsed = time.perf_counter() - started
        return elapsed / calls, sent[0] / calls
    finally:
        redis.connection.Connection.send_packed_command = original  # type: ignore[method-assign]


def run(quick: bool) -> list[Row]:
    """The section's rows."""
    what = "ROPC throughput: N workers on Redis vs 1 process in memory"
    if shutil.which("wrk") is None or shutil.which("redis-server") is None:
        return [skipped(SECTION, what, "needs wrk and redis-server (apt-get install -y wrk redis-server)")]
    rounds, duration = (1, 2.0) if quick else (3, 3.0)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as directory:
        redis_proc, url = _redis(directory)
        try:
            memory: list[float] = []
            shared: dict[int, list[float]] = {w: [] for w in WORKERS}
            for n in range(rounds):
                log(f"store: round {n + 1}/{rounds}")
                memory.append(_throughput([], duration))
                for workers in WORKERS:
                    shared[workers].append(_throughput(["--store", url, "--workers", str(workers)], duration))
            base = median(memory)
            for workers in WORKERS:
                rate = median(shared[workers])
                rows.append(
                    Row(
                        SECTION,
                        f"ROPC throughput, {workers} worker{'s' if workers > 1 else ''} on Redis",
                        f"in memory, 1 process {base:,.0f} req/s",
                        f"Redis, {workers} worker{'s' if workers > 1 else ''} {rate:,.0f} req/s",
                        ratio=fmt_ratio(rate / base),
                        note=(
                            f"wrk {CONNECTIONS} connections, {rounds} round(s) of {duration:g} s, medians; "
                            "redis-server, wrk and the workers share this machine's cores"
                        ),
                        data={"memory": memory, "redis": shared[workers]},
                    )
                )
            calls = 300 if quick else 1000
            memory_times, redis_times = [], []
            trips = 0.0
            for _ in range(3):  # alternating batches, the best of each: the machine is shared
                memory_times.append(_per_request(None, calls)[0])
                spent, trips = _per_request(url, calls)
                redis_times.append(spent)
            memory_time, redis_time = min(memory_times), min(redis_times)
            rows.append(
                Row(
                    SECTION,
                    "one token request in process: the store's cost",
                    f"in memory {fmt_us(memory_time)}",
                    f"Redis {fmt_us(redis_time)}, {trips:.1f} round trips",
                    ratio=fmt_ratio(redis_time / memory_time),
                    note=(
                        f"Flask test client, no socket to the mock, best of 3 alternating batches of {calls}; "
                        "a round trip is one command or one pipeline written to Redis and its answer read"
                    ),
                    data={"memory_s": memory_time, "redis_s": redis_time, "round_trips": trips},
                )
            )
        finally:
            redis_proc.terminate()
            redis_proc.wait(10)
    return rows


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    raise SystemExit(section_main(run, __doc__))
