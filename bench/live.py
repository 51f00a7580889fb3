"""Live: ``mock-as serve`` under concurrent load vs a canned-JSON server and ``oauth2-mock-server``.

All the servers run on 127.0.0.1 for the whole section: the mock and a canned server with the
same thread count, free to move between CPUs and both pinned to one CPU (``taskset``), the mock
holding 10^6 live tokens (``loaded_server.py``) and the peer. ``wrk`` POSTs the ROPC form to each
in turn, round after round, rotating the order; the ratios are medians of per-round ratios. Then,
to explain the gap to the canned server, the per-request cost of each WSGI application is measured
in process with no socket (the mock's app, the canned app, and the endpoint code alone).

Needs ``wrk`` (``apt-get install -y wrk``); the peer needs Node and ``npm ci --prefix bench/peers``.
Run alone: ``python bench/live.py [--quick]``.
"""

from __future__ import annotations

import http.client
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mock_as.server import AM_THREADS

from common import (
    FORM_TYPE,
    HERE,
    TOKEN_BODY,
    TOKEN_PATH,
    Row,
    fmt_ratio,
    fmt_us,
    interleaved,
    log,
    median,
    per_call,
    ratio_of,
    section_main,
    skipped,
)
from load import READY_REGEX, LoadError, process_output, run_wrk, start_process, stop_process

SECTION = "Live"
PEER_GOAL = 1.5
CANNED_GOAL = 0.6
LOADED_TOKENS = 1_000_000
CONNECTIONS = 16
WRK_THREADS = 2
#: ``mock-as serve``'s AM workers, and the canned server's.
THREADS = AM_THREADS
#: ``mock-as serve -q`` prints only its base URL; the port is read from it.
MOCK_READY = r"^http://127\.0\.0\.1:(?P<port>\d+)\S*\s*$"
PEER_DIR = HERE / "peers"
#: The oldest Node.js the pinned oauth2-mock-server supports (its ``engines``).
PEER_NODE = (20, 19)
PEER_WHAT = "ROPC under load: throughput vs `oauth2-mock-server` (password grant)"
PEER_GOAL_TEXT = f"≥ {PEER_GOAL:.1f}× req/s"
P99_WHAT = f"ROPC under load: p99 latency holding {LOADED_TOKENS:,} live tokens vs `oauth2-mock-server`'s p99"
P99_GOAL_TEXT = "< 1.00× (p99)"


def mock_command() -> list[str]:
    """How to run ``mock-as``: the console script beside this interpreter, else on ``PATH``, else
    ``python -m mock_as``."""
    beside = Path(sys.executable).with_name("mock-as")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("mock-as")
    return [found] if found else [sys.executable, "-m", "mock_as"]


def peer_missing() -> str | None:
    """Why the npm peer cannot run here, or ``None`` if it can."""
    install = "install Node.js 20.19 or newer with npm, then `npm ci --prefix bench/peers`"
    node = shutil.which("node")
    if node is None:
        return f"Node.js not found: {install}"
    try:
        version = subprocess.run(
            [node, "--version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
        major, minor = (int(part) for part in version.strip().lstrip("v").split(".")[:2])
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return f"cannot tell the Node.js version: {install}"
    if (major, minor) < PEER_NODE:
        return f"Node.js {version.strip()} is older than oauth2-mock-server needs: {install}"
    if not (PEER_DIR / "node_modules" / "oauth2-mock-server" / "package.json").exists():
        return "oauth2-mock-server not installed: `npm ci --prefix bench/peers`"
    return None


def peer_version() -> str | None:
    """The installed ``oauth2-mock-server`` version."""
    path = PEER_DIR / "node_modules" / "oauth2-mock-server" / "package.json"
    try:
        return str(json.loads(path.read_text(encoding="utf-8"))["version"])
    except (OSError, ValueError, KeyError):
        return None


@dataclass
class Subject:
    """A server under load: how to start it and where its token endpoint is."""

    name: str
    label: str
    command: list[str]
    ready: str
    path: str


def pinned_cpu() -> int | None:
    """The CPU the pinned pair runs on (the last this process may use), or ``None`` where
    ``taskset`` or a second CPU is missing."""
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if len(cpus) < 2 or shutil.which("taskset") is None:
        return None
    return cpus[-1]


def subjects(with_peer: bool) -> list[Subject]:
    """The mock and the canned baseline with the same thread count, free to move between CPUs and
    both pinned to one, the loaded mock and (if it can run) the peer."""
    mock = [*mock_command(), "serve", "-p", "0", "-q", "--seed", "0"]
    canned = [sys.executable, str(HERE / "canned_server.py"), "0", "--quiet-queue", "--threads", str(THREADS)]
    out = [
        Subject("mock", "`mock-as serve`", mock, MOCK_READY, "/openam" + TOKEN_PATH),
        Subject("canned", "canned JSON (waitress)", canned, READY_REGEX, "/token"),
    ]
    cpu = pinned_cpu()
    if cpu is not None:
        pin = ["taskset", "-c", str(cpu)]
        out += [
            Subject(
                "mock_pinned",
                f"`taskset -c {cpu} mock-as serve`",
                [*pin, *mock],
                MOCK_READY,
                "/openam" + TOKEN_PATH,
            ),
            Subject("canned_pinned", f"canned JSON on CPU {cpu}", [*pin, *canned], READY_REGEX, "/token"),
        ]
    out.append(
        Subject(
            "loaded",
            f"`mock-as serve` holding {LOADED_TOKENS:,} live tokens",
            [sys.executable, str(HERE / "loaded_server.py"), "0", str(LOADED_TOKENS)],
            READY_REGEX,
            "/openam" + TOKEN_PATH,
        )
    )
    if with_peer:
        out.append(
            Subject(
                "peer",
                "`oauth2-mock-server`",
                ["node", str(PEER_DIR / "axa_server.js"), "0"],
                READY_REGEX,
                "/token",
            )
        )
    return out


def post_token(port: int, path: str) -> tuple[int, dict[str, Any]]:
    """One ROPC POST; (status, JSON body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("POST", path, TOKEN_BODY, {"Content-Type": FORM_TYPE})
        response = conn.getresponse()
        raw = response.read()
    finally:
        conn.close()
    try:
        body = json.loads(raw)
    except ValueError:
        body = {"raw": raw[:200].decode("latin-1")}
    return response.status, body


def load_rounds(quick: bool) -> list[Row]:
    """Start the servers, check each answers the ROPC POST, then the interleaved wrk rounds."""
    missing = peer_missing()
    if shutil.which("wrk") is None:
        reason = "wrk not found: `apt-get install -y wrk`"
        return [
            skipped(
                SECTION, PEER_WHAT, reason if missing is None else f"{reason}; {missing}", PEER_GOAL_TEXT
            ),
            skipped(SECTION, "ROPC under load vs a canned-JSON server", reason),
        ]
    rows: list[Row] = []
    if missing is not None:
        rows.append(skipped(SECTION, PEER_WHAT, missing, PEER_GOAL_TEXT))
        rows.append(skipped(SECTION, P99_WHAT, missing, P99_GOAL_TEXT))
    rounds, seconds = (3, 2) if quick else (7, 3)
    running: dict[str, tuple[Subject, subprocess.Popen[str], str]] = {}
    try:
        for subject in subjects(missing is None):
            proc, port = start_process(
                subject.command, subject.ready, timeout=300 if subject.name == "loaded" else 30
            )
            url = f"http://127.0.0.1:{port}{subject.path}"
            running[subject.name] = (subject, proc, url)
            status, body = post_token(port, subject.path)
            if status != 200 or "access_token" not in body:
                raise LoadError(f"{subject.name} answered {status} {body} to the ROPC POST")
        for name, (_, _, url) in running.items():
            log(f"live: warming {name}")
            run_wrk(url, TOKEN_BODY, duration=1, connections=CONNECTIONS, threads=WRK_THREADS)
        mock_proc = running["mock"][1]
        lines_before = len(process_output(mock_proc))

        def wrk_of(name: str) -> Callable[[], Any]:
            def go() -> Any:
                log(f"live: wrk {seconds}s against {name}")
                return run_wrk(
                    running[name][2],
                    TOKEN_BODY,
                    duration=seconds,
                    connections=CONNECTIONS,
                    threads=WRK_THREADS,
                )

            return go

        results = interleaved({name: wrk_of(name) for name in running}, rounds)
        mock_log_lines = len(process_output(mock_proc)) - lines_before
        log("live: profiling the mock under load (py-spy, if installed)")
        profile = gil_profile(mock_proc.pid, running["mock"][2], seconds + 1)
    finally:
        for _, proc, _ in running.values():
            stop_process(proc)
    rows.extend(_load_rows(results, rounds, seconds, mock_log_lines, profile))
    return rows


def py_spy() -> str | None:
    """The ``py-spy`` beside this interpreter or on ``PATH``."""
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


_ENDPOINT_FRAME = re.compile(r"(^|;)handle \([^;]*router\.py:")


def gil_profile(pid: int, url: str, seconds: int) -> dict[str, float] | None:
    """Sample whichever thread of server ``pid`` holds the GIL (``py-spy record --gil``) while wrk
    loads ``url``: the shares of the GIL time in the mock's WSGI layer (``am_front`` and what it
    calls) and in the endpoint (``router.handle``), the rest being waitress's own request
    handling. ``None`` without py-spy (``pip install py-spy``) or when it cannot attach."""
    spy = py_spy()
    if spy is None:
        return None
    with tempfile.TemporaryDirectory(prefix="mock-as-spy-") as tmp:
        out = Path(tmp, "raw.txt")
        command = [spy, "record", "-p", str(pid), "-d", str(seconds), "-r", "500", "-f", "raw"]
        proc = subprocess.Popen(
            [*command, "-o", str(out), "--nonblocking", "--gil"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        run_wrk(url, TOKEN_BODY, duration=seconds + 1, connections=CONNECTIONS, threads=WRK_THREADS)
        try:
            proc.wait(timeout=seconds + 30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            return None
        if proc.returncode != 0 or not out.exists():
            return None
        total = app = endpoint = 0
        for line in out.read_text(encoding="utf-8", errors="replace").splitlines():
            stack, _, count = line.rpartition(" ")
            if not count.isdigit():
                continue
            samples = int(count)
            total += samples
            if "am_front" in stack:
                app += samples
            if _ENDPOINT_FRAME.search(stack):
                endpoint += samples
    if total == 0:
        return None
    return {"samples": total, "app": app / total, "endpoint": endpoint / total}


def _cell(label: str, runs: list[dict[str, Any]]) -> str:
    rps = median([r["requests_per_sec"] for r in runs])
    p50 = median([r["p50_ms"] for r in runs])
    p99 = median([r["p99_ms"] for r in runs])
    return f"{label} {rps:,.0f} req/s, p50 {p50:.1f} ms, p99 {p99:.1f} ms"


def _load_rows(
    results: dict[str, list[Any]],
    rounds: int,
    seconds: int,
    log_lines: int,
    profile: dict[str, float] | None = None,
) -> list[Row]:
    rows: list[Row] = []
    mock = results["mock"]
    errors = {name: sum(r["non_2xx"] + r["socket_errors"] for r in runs) for name, runs in results.items()}
    setup = (
        f"wrk {CONNECTIONS} connections, {WRK_THREADS} threads, {rounds} interleaved rounds of {seconds} s"
    )
    clean = ", ".join(f"{name} {count}" for name, count in errors.items())
    mock_rps = [r["requests_per_sec"] for r in mock]
    data = dict(results)
    if profile is None:
        spied = "profile: `pip install py-spy` to have this run sample the mock under load"
    else:
        spied = (
            f"profile (py-spy --gil, {profile['samples']:,.0f} samples of whichever thread held the "
            f"GIL, under the same load): the mock's WSGI layer and endpoint {profile['app']:.0%} of "
            f"the GIL time (the endpoint `router.handle` alone {profile['endpoint']:.0%}), waitress's "
            f"own request handling (parsing, headers, socket writes, its task queue) the other "
            f"{1 - profile['app']:.0%}"
        )
    workers = f"{THREADS} worker threads"
    for name, base in (("mock", "canned"), ("mock_pinned", "canned_pinned")):
        if name not in results:
            continue
        ours, canned = results[name], results[base]
        ours_rps = [r["requests_per_sec"] for r in ours]
        canned_rps = [r["requests_per_sec"] for r in canned]
        ratio = ratio_of(ours_rps, canned_rps)
        per_round = [m / c for m, c in zip(ours_rps, canned_rps, strict=True)]
        canned_us = 1e6 / median(canned_rps)
        added_us = 1e6 / median(ours_rps) - canned_us
        if name == "mock":
            what = "ROPC under load: throughput vs a canned-JSON server on the same waitress and threads"
            why = (
                f"; {spied}; at the canned server's rate the server spends {canned_us:.0f} µs of "
                f"GIL-bound time per request and the mock adds {added_us:.0f} µs: its endpoint and "
                "WSGI layer (the per-request row) plus the hand-overs of the GIL between waitress's "
                "I/O thread and the workers, which cost most when the threads sit on different CPUs "
                "(the pinned row); the endpoint's own profile is flat (see In-process)"
            )
        else:
            what = "ROPC under load: the same, both servers pinned to one CPU"
            why = (
                f"; both run under `taskset -c {pinned_cpu()}`; the mock adds {added_us:.0f} µs per request to the canned "
                f"server's {canned_us:.0f} µs; pinned, both answer far more requests per second "
                "(the mock "
                f"{fmt_ratio(ratio_of(ours_rps, [r['requests_per_sec'] for r in results['mock']]))} "
                "its unpinned rate, the canned server "
                f"{fmt_ratio(ratio_of(canned_rps, [r['requests_per_sec'] for r in results['canned']]))}) "
                "and from round to round far more evenly: a GIL handed between threads on one CPU "
                "needs no wake-up across CPUs"
            )
        rows.append(
            Row(
                SECTION,
                what,
                _cell("canned", canned),
                _cell("mock", ours),
                fmt_ratio(ratio),
                f"≥ {CANNED_GOAL:.1f}× req/s",
                ratio >= CANNED_GOAL,
                f"{setup}; per-round ratios {min(per_round):.2f}–{max(per_round):.2f}; both on "
                f"waitress with {workers}, so the gap is the mock's own work per request (see the "
                f"per-request row); log lines the mock wrote under load: {log_lines}; non-2xx + socket "
                f"errors: {clean}{why}",
                {"ratio": ratio, "runs": data, "mock_log_lines": log_lines, "profile": profile},
            )
        )
    if "peer" in results:
        peer = results["peer"]
        peer_rps = [r["requests_per_sec"] for r in peer]
        ratio = ratio_of(mock_rps, peer_rps)
        per_round = [m / p for m, p in zip(mock_rps, peer_rps, strict=True)]
        rows.append(
            Row(
                SECTION,
                PEER_WHAT,
                _cell("peer", peer),
                _cell("mock", mock),
                fmt_ratio(ratio),
                PEER_GOAL_TEXT,
                ratio >= PEER_GOAL,
                f"{setup}; per-round ratios {min(per_round):.2f}–{max(per_round):.2f} (a round "
                "where another process took the CPU shows as an outlier); latencies are medians over "
                "the rounds; the peer signs an RS256 access token and id_token per request",
                {"ratio": ratio, "runs": data},
            )
        )
        loaded = results["loaded"]
        loaded_p99 = [r["p99_ms"] for r in loaded]
        peer_p99 = [r["p99_ms"] for r in peer]
        p99_ratio = ratio_of(loaded_p99, peer_p99)
        per_round = [m / p for m, p in zip(loaded_p99, peer_p99, strict=True)]
        rows.append(
            Row(
                SECTION,
                P99_WHAT,
                _cell("peer", peer),
                _cell(f"mock with {LOADED_TOKENS:,} tokens", loaded),
                fmt_ratio(p99_ratio),
                P99_GOAL_TEXT,
                p99_ratio < 1.0,
                f"{setup}; per-round p99 ratios {min(per_round):.2f}–{max(per_round):.2f}; the "
                f"loaded mock is `bench/loaded_server.py`: the same server and app, its store filled "
                f"with {LOADED_TOKENS:,} live tokens before the run (rows are bytes the garbage "
                "collector does not track, so a full collection does not walk them); its throughput "
                f"vs the empty mock: {fmt_ratio(ratio_of([r['requests_per_sec'] for r in loaded], mock_rps))}",
                {"ratio": p99_ratio},
                measured=f"{fmt_ratio(p99_ratio)} (p99 {median(loaded_p99):.1f} vs {median(peer_p99):.1f} ms)",
            )
        )
    return rows


# -- the per-request cost of each WSGI application, no socket ---------------------------------------


def _wsgi_caller(app: Any, environ: dict[str, Any], body: bytes) -> Callable[[], object]:
    """One full WSGI request to ``app``: a fresh environ and input, the answer read and closed."""

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        if not status.startswith("200"):
            raise RuntimeError(f"WSGI app answered {status}")
        return None

    def call() -> object:
        env = dict(environ)
        env["wsgi.input"] = io.BytesIO(body)
        answer: Iterable[bytes] = app(env, start_response)
        try:
            return b"".join(answer)
        finally:
            close = getattr(answer, "close", None)
            if close is not None:
                close()

    return call


def wsgi_breakdown(quick: bool) -> list[Row]:
    """The mock's WSGI app vs the canned WSGI app vs the endpoint code, per request, in process."""
    from mock_as import MockASConfig, State
    from mock_as.app import wsgi_app
    from mock_as.router import handle
    from werkzeug.test import EnvironBuilder

    import canned_server

    body = TOKEN_BODY.encode()
    state = State(MockASConfig(seed=0))
    environ = EnvironBuilder(
        path="/openam" + TOKEN_PATH,
        method="POST",
        data=body,
        content_type=FORM_TYPE,
        base_url="http://127.0.0.1:8080",
    ).get_environ()
    app_call = _wsgi_caller(wsgi_app(state), environ, body)
    canned_call = _wsgi_caller(canned_server.app, environ, body)
    headers = {"content-type": FORM_TYPE, "host": "127.0.0.1:8080"}

    def endpoint_call() -> object:
        return handle(state, "POST", TOKEN_PATH, "", headers, body, "http://127.0.0.1:8080/openam")

    calls = 1000 if quick else 3000

    def batch(fn: Callable[[], object]) -> Callable[[], float]:
        def go() -> float:
            state.reset()
            return per_call(fn, calls)

        return go

    for fn in (app_call, canned_call, endpoint_call):
        per_call(fn, 200)
    got = interleaved(
        {"canned": batch(canned_call), "app": batch(app_call), "endpoint": batch(endpoint_call)},
        7 if quick else 15,
    )
    canned_s, app_s, endpoint_s = (median(got[k]) for k in ("canned", "app", "endpoint"))
    glue_s = app_s - endpoint_s
    return [
        Row(
            SECTION,
            "per request with no socket: the mock's WSGI app vs the canned WSGI app",
            f"canned app {fmt_us(canned_s)}",
            f"mock's app {fmt_us(app_s)}",
            note=(
                f"of the mock's {fmt_us(app_s)}: the endpoint (`router.handle`) {fmt_us(endpoint_s)} "
                f"({endpoint_s / app_s:.0%}), the WSGI layer in front of it (environ to headers, body "
                f"read, answer out) {fmt_us(glue_s)}; AM's paths no longer go through Flask, which "
                "cost ~72 µs of ~95 µs before; the canned app does no work at all; waitress adds "
                "the same socket and HTTP cost to both"
            ),
            data={k + "_s": v for k, v in got.items()},
        )
    ]


def run(quick: bool) -> list[Row]:
    """All live rows."""
    rows = load_rounds(quick)
    log("live: WSGI per-request breakdown")
    rows.extend(wsgi_breakdown(quick))
    return rows


def main(argv: list[str] | None = None) -> int:
    """Print this section's rows as JSON lines."""
    return section_main(run, __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
