"""Loopback load generation against live token servers.

Two building blocks:

* :func:`start_process` / :func:`stop_process` run a server under test as a
  subprocess, wait until it is ready, and tear it down again.
* :func:`run_wrk` drives a running server with ``wrk`` (Debian package
  ``wrk``), POSTing a fixed form-encoded body, and returns throughput,
  latency percentiles and error counts.

Everything is restricted to loopback addresses and bounded in time.

Example::

    from bench.load import READY_REGEX, run_wrk, start_process, stop_process

    proc, port = start_process(["python", "bench/canned_server.py", "0"], READY_REGEX)
    try:
        print(run_wrk(f"http://127.0.0.1:{port}/token", "grant_type=password", duration=3))
    finally:
        stop_process(proc)
"""

from __future__ import annotations

import base64
import collections
import ipaddress
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import weakref
from collections.abc import Mapping, Sequence
from typing import TypedDict
from urllib.parse import urlsplit

__all__ = [
    "READY_REGEX",
    "LoadError",
    "ServerStartError",
    "WrkError",
    "WrkNotFoundError",
    "WrkResult",
    "process_output",
    "run_wrk",
    "start_process",
    "stop_process",
]

#: Matches the readiness line printed by the bundled servers: ``READY <port>``.
READY_REGEX = r"^READY (?P<port>\d+)\s*$"

_LOOPBACK_HOST = "127.0.0.1"
_RESULT_MARKER = "WRK_RESULT "
_OUTPUT_TAIL_LINES = 200
_PORT_POLL_INTERVAL_S = 0.05


class LoadError(RuntimeError):
    """Base class for errors raised by this module."""


class WrkNotFoundError(LoadError):
    """Raised when the ``wrk`` executable cannot be found."""


class WrkError(LoadError):
    """Raised when ``wrk`` fails, times out or produces unparsable output."""


class ServerStartError(LoadError):
    """Raised when a server subprocess does not become ready in time."""


class SocketErrors(TypedDict):
    """Socket-level error counts reported by ``wrk``."""

    connect: int
    read: int
    write: int
    timeout: int


class WrkResult(TypedDict):
    """Outcome of one :func:`run_wrk` run.

    Latencies are in milliseconds; ``None`` when no request completed.
    ``non_2xx`` counts every response whose status is outside 200-299.
    ``socket_errors`` is the sum of the entries in ``socket_errors_detail``.
    """

    url: str
    duration_s: float
    connections: int
    threads: int
    requests: int
    requests_per_sec: float
    p50_ms: float | None
    p90_ms: float | None
    p99_ms: float | None
    mean_ms: float | None
    max_ms: float | None
    non_2xx: int
    socket_errors: int
    socket_errors_detail: SocketErrors


# --------------------------------------------------------------------------
# wrk
# --------------------------------------------------------------------------

# Per-thread counters live in each thread's Lua state; setup() keeps the
# thread handles so that done() can sum them.
_LUA_TEMPLATE = """\
wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
{auth_line}
local threads = {{}}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  non2xx = 0
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  end
end

function done(summary, latency, requests)
  local non2xx_total = 0
  for _, t in ipairs(threads) do
    non2xx_total = non2xx_total + (t:get("non2xx") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    '{marker}{{"duration_us":%.0f,"requests":%.0f,"non_2xx":%.0f,' ..
    '"errors":{{"connect":%.0f,"read":%.0f,"write":%.0f,"timeout":%.0f}},' ..
    '"latency_us":{{"mean":%.3f,"max":%.0f,' ..
    '"p50":%.0f,"p90":%.0f,"p99":%.0f}}}}\\n',
    summary.duration, summary.requests, non2xx_total,
    e.connect, e.read, e.write, e.timeout,
    latency.mean, latency.max,
    latency:percentile(50), latency:percentile(90), latency:percentile(99)))
end
"""


def _lua_string(value: str) -> str:
    """Return *value* as a double-quoted Lua string literal.

    Quotes, backslashes and bytes outside printable ASCII become ``\\ddd``.
    """
    out = []
    for byte in value.encode("utf-8"):
        if 0x20 <= byte <= 0x7E and byte not in (0x22, 0x5C):
            out.append(chr(byte))
        else:
            out.append(f"\\{byte:03d}")
    return '"' + "".join(out) + '"'


def _build_lua_script(body: str, basic_auth: tuple[str, str] | None) -> str:
    """Render the wrk Lua script for a form POST with optional Basic auth."""
    auth_line = ""
    if basic_auth is not None:
        user, password = basic_auth
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        auth_line = f'wrk.headers["Authorization"] = {_lua_string("Basic " + token)}\n'
    return _LUA_TEMPLATE.format(body=_lua_string(body), auth_line=auth_line, marker=_RESULT_MARKER)


def _require_loopback(url: str) -> None:
    """Raise ``ValueError`` unless *url* is http(s) to a loopback address."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"unsupported URL scheme in {url!r}")
    host = parts.hostname or ""
    if host == "localhost":
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise ValueError(f"refusing non-loopback target {url!r}")


_UNIT_TO_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}
_DURATION_RE = r"([0-9.]+)(us|ms|s|m|h)"


def _to_ms(number: str, unit: str) -> float:
    """Convert a wrk duration such as ``('1.50', 'ms')`` to milliseconds."""
    return float(number) * _UNIT_TO_MS[unit]


def _make_result(
    run: tuple[str, int, int],
    *,
    duration_s: float,
    requests: int,
    requests_per_sec: float,
    latency_ms: Mapping[str, float | None],
    non_2xx: int,
    socket_errors: SocketErrors,
) -> WrkResult:
    """Assemble a :class:`WrkResult`; *run* is ``(url, connections, threads)``."""
    url, connections, threads = run
    return WrkResult(
        url=url,
        duration_s=duration_s,
        connections=connections,
        threads=threads,
        requests=requests,
        requests_per_sec=requests_per_sec,
        p50_ms=latency_ms.get("p50"),
        p90_ms=latency_ms.get("p90"),
        p99_ms=latency_ms.get("p99"),
        mean_ms=latency_ms.get("mean"),
        max_ms=latency_ms.get("max"),
        non_2xx=non_2xx,
        socket_errors=(
            socket_errors["connect"]
            + socket_errors["read"]
            + socket_errors["write"]
            + socket_errors["timeout"]
        ),
        socket_errors_detail=socket_errors,
    )


def _result_from_lua(output: str, run: tuple[str, int, int]) -> WrkResult | None:
    """Build the result from the JSON line printed by the Lua ``done()`` hook.

    Returns ``None`` when the line is missing or malformed.
    """
    for line in reversed(output.splitlines()):
        idx = line.find(_RESULT_MARKER)
        if idx >= 0:
            break
    else:
        return None
    try:
        data = json.loads(line[idx + len(_RESULT_MARKER) :])
        errors, latency = data["errors"], data["latency_us"]
        requests = int(data["requests"])
        duration_s = float(data["duration_us"]) / 1e6
        socket_errors = SocketErrors(
            connect=int(errors["connect"]),
            read=int(errors["read"]),
            write=int(errors["write"]),
            timeout=int(errors["timeout"]),
        )
        latency_ms: dict[str, float | None] = {
            key: (float(latency[key]) / 1e3 if requests > 0 else None)
            for key in ("p50", "p90", "p99", "mean", "max")
        }
        non_2xx = int(data["non_2xx"])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError):
        return None
    return _make_result(
        run,
        duration_s=duration_s,
        requests=requests,
        requests_per_sec=requests / duration_s if duration_s > 0 else 0.0,
        latency_ms=latency_ms,
        non_2xx=non_2xx,
        socket_errors=socket_errors,
    )


def _result_from_text(output: str, run: tuple[str, int, int]) -> WrkResult | None:
    """Build the result from wrk's human-readable ``--latency`` report.

    Fallback for when the Lua JSON line is unusable. wrk's own
    "Non-2xx or 3xx responses" line only counts status codes above 399, so
    ``non_2xx`` is a lower bound on this path. Returns ``None`` when even the
    request count or rate cannot be found.
    """
    totals = re.search(r"^\s*(\d+) requests in " + _DURATION_RE, output, re.MULTILINE)
    rate = re.search(r"^Requests/sec:\s*([0-9.]+)", output, re.MULTILINE)
    if totals is None or rate is None:
        return None
    latency_ms: dict[str, float | None] = {}
    for pct in (50, 90, 99):
        if m := re.search(rf"^\s*{pct}(?:\.0+)?%\s+{_DURATION_RE}\s*$", output, re.MULTILINE):
            latency_ms[f"p{pct}"] = _to_ms(m.group(1), m.group(2))
    summary = rf"^\s*Latency\s+{_DURATION_RE}\s+\S+\s+{_DURATION_RE}"
    if m := re.search(summary, output, re.MULTILINE):
        latency_ms["mean"] = _to_ms(m.group(1), m.group(2))
        latency_ms["max"] = _to_ms(m.group(3), m.group(4))
    socket_errors = SocketErrors(connect=0, read=0, write=0, timeout=0)
    pattern = r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)"
    if m := re.search(pattern, output):
        socket_errors = SocketErrors(
            connect=int(m.group(1)),
            read=int(m.group(2)),
            write=int(m.group(3)),
            timeout=int(m.group(4)),
        )
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", output)
    return _make_result(
        run,
        duration_s=_to_ms(totals.group(2), totals.group(3)) / 1e3,
        requests=int(totals.group(1)),
        requests_per_sec=float(rate.group(1)),
        latency_ms=latency_ms,
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=socket_errors,
    )


def run_wrk(
    url: str,
    body: str,
    *,
    duration: float = 5,
    connections: int = 16,
    threads: int = 2,
    basic_auth: tuple[str, str] | None = None,
    request_timeout: float = 2.0,
) -> WrkResult:
    """Load *url* with ``wrk`` POSTing *body* as a form and return the stats.

    Args:
        url: Target URL; must point at a loopback address (e.g. 127.0.0.1).
        body: Pre-encoded ``application/x-www-form-urlencoded`` request body.
        duration: Test length in seconds (rounded to whole seconds, min 1).
        connections: Number of keep-alive connections held open.
        threads: Number of wrk threads (capped at *connections*).
        basic_auth: Optional ``(user, password)`` sent as HTTP Basic auth.
        request_timeout: Per-request timeout in seconds (whole seconds, min 1);
            slower requests are counted as socket timeout errors.

    Returns:
        A :class:`WrkResult` dict: ``requests_per_sec``, ``p50_ms``,
        ``p99_ms`` (plus p90/mean/max), ``non_2xx``, ``socket_errors`` and
        its per-kind breakdown, and the run parameters.

    Raises:
        WrkNotFoundError: ``wrk`` is not on ``PATH``.
        WrkError: ``wrk`` exited non-zero, overran its time budget, or its
            output could not be parsed.
        ValueError: Invalid arguments or a non-loopback URL.
    """
    _require_loopback(url)
    if connections < 1 or threads < 1:
        raise ValueError("connections and threads must be >= 1")
    threads = min(threads, connections)
    seconds = max(1, round(duration))
    timeout_s = max(1, round(request_timeout))
    wrk = shutil.which("wrk")
    if wrk is None:
        raise WrkNotFoundError(
            "wrk executable not found on PATH; install it with `apt-get install -y wrk` (Debian/Ubuntu)"
        )

    fd, script_path = tempfile.mkstemp(prefix="wrk-", suffix=".lua")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(_build_lua_script(body, basic_auth))
        cmd = [
            wrk,
            f"--threads={threads}",
            f"--connections={connections}",
            f"--duration={seconds}s",
            f"--timeout={timeout_s}s",
            "--latency",
            f"--script={script_path}",
            url,
        ]
        budget = seconds + timeout_s + 30
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=budget, check=False)
        except subprocess.TimeoutExpired as exc:
            raise WrkError(f"wrk did not finish within {budget}s") from exc
    finally:
        os.unlink(script_path)

    if proc.returncode != 0:
        detail = (proc.stderr.strip() or proc.stdout.strip())[-2000:]
        raise WrkError(f"wrk exited with status {proc.returncode}: {detail}")

    run = (url, connections, threads)
    result = _result_from_lua(proc.stdout, run) or _result_from_text(proc.stdout, run)
    if result is None:
        raise WrkError(f"could not parse wrk output:\n{proc.stdout[-2000:]}")
    return result


# --------------------------------------------------------------------------
# Server subprocesses
# --------------------------------------------------------------------------


class _Drain:
    """Output bookkeeping for one child: recent lines and the reader thread."""

    def __init__(self, thread: threading.Thread, tail: collections.deque[str]) -> None:
        self.thread = thread
        self.tail = tail


_DRAINS: weakref.WeakKeyDictionary[subprocess.Popen[str], _Drain] = weakref.WeakKeyDictionary()


def process_output(proc: subprocess.Popen[str]) -> list[str]:
    """Return the most recent output lines (stdout+stderr) of a started server."""
    drain = _DRAINS.get(proc)
    return list(drain.tail) if drain is not None else []


def _port_open(port: int) -> bool:
    """Return True if 127.0.0.1:*port* accepts a TCP connection."""
    try:
        with socket.create_connection((_LOOPBACK_HOST, port), timeout=0.25):
            return True
    except OSError:
        return False


def _pump_output(
    proc: subprocess.Popen[str],
    tail: collections.deque[str],
    pattern: re.Pattern[str] | None,
    found: list[re.Match[str]],
    ready: threading.Event,
) -> None:
    """Drain the child's output, keeping a tail and flagging the READY line."""
    assert proc.stdout is not None
    for line in proc.stdout:
        line = line.rstrip("\r\n")
        tail.append(line)
        if not found and pattern is not None:
            m = pattern.search(line)
            if m:
                found.append(m)
                ready.set()
    ready.set()  # EOF: let the waiter notice the exit promptly.


def _port_from_match(match: re.Match[str]) -> int | None:
    """Extract a port from the ``port`` group, else the first group, if any."""
    if "port" in match.re.groupindex:
        value = match.group("port")
    elif match.re.groups >= 1:
        value = match.group(1)
    else:
        return None
    return int(value) if value else None


def start_process(
    cmd: Sequence[str],
    ready_regex: str | re.Pattern[str] | None,
    timeout: float = 15,
    *,
    port: int | None = None,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> tuple[subprocess.Popen[str], int]:
    """Start a server subprocess and wait until it is ready.

    Readiness is the first output line matching *ready_regex* (the port is
    taken from its ``port`` group, or its first group), or, when *port* is
    given, the first successful TCP connect to ``127.0.0.1:<port>``, whichever
    comes first. When the port comes from the READY line, the function also
    waits for it to accept connections.

    The child runs in its own session (process group); stdout and stderr are
    merged and drained continuously in a background thread so that a chatty
    server never blocks on a full pipe. The last lines are available through
    :func:`process_output`.

    Args:
        cmd: Command line, e.g. ``["node", "bench/peers/axa_server.js", "0"]``.
        ready_regex: Pattern for the readiness line (see :data:`READY_REGEX`),
            or ``None`` to rely on port polling alone.
        timeout: Seconds to wait for readiness.
        port: Known listening port; enables TCP polling.
        cwd: Working directory for the child.
        env: Environment for the child (defaults to the current one).

    Returns:
        ``(process, port)``.

    Raises:
        ServerStartError: The process exited, or was not ready within
            *timeout* (it is stopped before raising).
        ValueError: Neither a usable *ready_regex* nor *port* was given.
    """
    pattern = re.compile(ready_regex) if isinstance(ready_regex, str) else ready_regex
    if pattern is None and port is None:
        raise ValueError("need ready_regex or port")

    proc = subprocess.Popen(
        list(cmd),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
        cwd=cwd,
        env=dict(env) if env is not None else None,
        start_new_session=True,
    )
    tail: collections.deque[str] = collections.deque(maxlen=_OUTPUT_TAIL_LINES)
    found: list[re.Match[str]] = []
    line_seen = threading.Event()
    reader = threading.Thread(
        target=_pump_output,
        args=(proc, tail, pattern, found, line_seen),
        name=f"output-{proc.pid}",
        daemon=True,
    )
    _DRAINS[proc] = _Drain(reader, tail)
    reader.start()

    def fail(reason: str) -> ServerStartError:
        stop_process(proc)
        output = "\n".join(tail)
        return ServerStartError(f"{reason}: {' '.join(cmd)}\n--- output ---\n{output}")

    deadline = time.monotonic() + timeout
    ready_port: int | None = None
    while True:
        if found and ready_port is None:
            ready_port = _port_from_match(found[0]) or port
            if ready_port is None:
                raise fail("READY line carries no port and no port was given")
        check_port = ready_port if ready_port is not None else port
        if check_port is not None and _port_open(check_port):
            return proc, check_port
        if proc.poll() is not None:
            raise fail(f"server exited with status {proc.returncode} before ready")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise fail(f"server not ready after {timeout:g}s")
        pause = min(_PORT_POLL_INTERVAL_S, remaining)
        if line_seen.is_set():
            time.sleep(pause)  # READY seen (or EOF): just poll the port.
        else:
            line_seen.wait(pause)


def stop_process(proc: subprocess.Popen[str], grace: float = 5.0) -> int:
    """Stop a process from :func:`start_process` and return its exit status.

    Sends SIGTERM to the child's process group, waits up to *grace* seconds,
    then sends SIGKILL. Safe to call on a process that has already exited.
    """
    if proc.poll() is None:
        _signal_group(proc, signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            _signal_group(proc, signal.SIGKILL)
            proc.wait(timeout=grace)
    drain = _DRAINS.get(proc)
    if drain is not None:
        # The pipe hits EOF once the whole process group is gone.
        drain.thread.join(timeout=1.0)
        if not drain.thread.is_alive() and proc.stdout is not None:
            proc.stdout.close()
    return proc.returncode


def _signal_group(proc: subprocess.Popen[str], sig: signal.Signals) -> None:
    """Signal the child's own process group (it leads a fresh session)."""
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:
        proc.send_signal(sig)
