"""Start-up: ``mock-as serve`` to its first token, the plugin's cost, and the per-test reset.

* Spawn to first token: wall time from starting ``mock-as serve -p PORT -q`` to the first
  ``200`` answer to the ROPC POST (polling the port), vs the canned-JSON server started the same way,
  vs the bare interpreter (``python -c pass``), in interleaved runs.
* Plugin load: a pytest run of one trivial test with the plugin vs with ``-p no:mock_as``, and
  the import time of the modules the plugin brings in beyond pytest's own.
* Per-test cost: inside one pytest run, the setup + teardown time of the ``mock_as_requests`` and
  ``mock_as`` fixtures vs a ``responses`` stub fixture vs a test with no fixture, interleaved test
  by test; and :meth:`State.reset` alone.

Run alone: ``python bench/startup.py [--quick]``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from common import (
    HERE,
    TOKEN_PATH,
    Row,
    fmt_ms,
    fmt_ratio,
    fmt_us,
    interleaved,
    log,
    median,
    ratio_of,
    section_main,
)
from live import mock_command, post_token

SECTION = "Start-up"
FIRST_TOKEN_GOAL = 3.0  # times the canned server's spawn to first answer
#: Environment variables that would change what pytest loads.
_PYTEST_VARS = ("PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTEST_DISABLE_PLUGIN_AUTOLOAD")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def spawn_to_first_token(
    command: list[str], path: str, timeout: float = 20.0, env: dict[str, str] | None = None
) -> float:
    """Seconds from spawning ``command`` (``PORT`` in it replaced by a free port, ``env`` its
    environment) to a ``200`` answer to the ROPC POST at ``path``."""
    port = _free_port()
    argv = [str(port) if arg == "PORT" else arg for arg in command]
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env=env,
    )
    try:
        while True:
            try:
                status, _ = post_token(port, path)
                if status == 200:
                    return time.perf_counter() - start
                raise RuntimeError(f"{argv[0]} answered {status}")
            except OSError:
                pass
            if proc.poll() is not None:
                raise RuntimeError(f"{' '.join(argv)} exited with {proc.returncode} before answering")
            if time.perf_counter() - start > timeout:
                raise RuntimeError(f"{' '.join(argv)} gave no token within {timeout} s")
            time.sleep(0.002)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _run_seconds(argv: list[str], cwd: str | None = None, env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False)
    took = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv)} failed ({done.returncode}):\n{done.stdout[-1500:]}{done.stderr[-1500:]}"
        )
    return took


def no_bytecode_cache(prefix: str) -> dict[str, str]:
    """An environment in which Python neither reads nor writes a bytecode cache: every module
    (the standard library's too) is compiled from source, as on a fresh checkout or a read-only
    install. ``PYTHONDONTWRITEBYTECODE=1`` alone keeps reading the ``__pycache__`` already there,
    so the cache is also pointed at an empty directory (``PYTHONPYCACHEPREFIX``)."""
    return {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPYCACHEPREFIX": prefix}


def first_token(quick: bool) -> list[Row]:
    """``mock-as serve`` spawn to first token vs the canned server and the bare interpreter, with
    and without a bytecode cache."""
    runs = 5 if quick else 11
    mock = [*mock_command(), "serve", "-p", "PORT", "-q", "--seed", "0"]
    canned = [sys.executable, str(HERE / "canned_server.py"), "PORT", "--quiet-queue"]
    with tempfile.TemporaryDirectory(prefix="mock-as-nocache-") as empty:
        cold = no_bytecode_cache(empty)
        subjects: dict[str, Callable[[], float]] = {
            "mock": lambda: spawn_to_first_token(mock, "/openam" + TOKEN_PATH),
            "canned": lambda: spawn_to_first_token(canned, "/token"),
            "python": lambda: _run_seconds([sys.executable, "-c", "pass"]),
            "mock_cold": lambda: spawn_to_first_token(mock, "/openam" + TOKEN_PATH, env=cold),
            "canned_cold": lambda: spawn_to_first_token(canned, "/token", env=cold),
        }
        got = interleaved(subjects, runs)
    rows = []
    for suffix, label in (("", "with a bytecode cache"), ("_cold", "without a bytecode cache")):
        m, c = median(got["mock" + suffix]), median(got["canned" + suffix])
        ratio = ratio_of(got["mock" + suffix], got["canned" + suffix])
        met = ratio <= FIRST_TOKEN_GOAL
        note = (
            f"median of {runs} interleaved runs (mock {fmt_ms(min(got['mock' + suffix]))}–"
            f"{fmt_ms(max(got['mock' + suffix]))}); `python -c pass` alone takes "
            f"{fmt_ms(median(got['python']))}; the console script `{Path(mock[0]).name}`; the canned "
            "server is waitress and a five-line WSGI app"
        )
        if suffix:
            note += (
                "; `PYTHONDONTWRITEBYTECODE=1` and `PYTHONPYCACHEPREFIX` pointed at an empty "
                "directory, so nothing (the standard library included) comes from a cache"
            )
        note += (
            "; before the first token the mock imports neither Flask, faker nor cryptography "
            "(the Flask app is built on the first request outside AM's paths, fake users on "
            "first need, keys on first signature)"
        )
        rows.append(
            Row(
                SECTION,
                f"`mock-as serve` spawn to first token (ROPC 200), {label}",
                f"canned server {fmt_ms(c)}",
                f"mock {fmt_ms(m)}",
                fmt_ratio(ratio),
                f"≤ {FIRST_TOKEN_GOAL:.0f}×",
                met,
                note,
                {k + "_s": v for k, v in got.items()},
            )
        )
    return rows


def _pytest_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _PYTEST_VARS}
    return env


def plugin_load(quick: bool) -> list[Row]:
    """A trivial pytest run with and without the plugin, and the plugin's own import time."""
    runs = 5 if quick else 11
    env = _pytest_env()
    with tempfile.TemporaryDirectory(prefix="mock-as-bench-") as tmp:
        Path(tmp, "test_trivial.py").write_text("def test_nothing():\n    assert True\n", encoding="utf-8")
        base = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_trivial.py"]
        got = interleaved(
            {
                "without": lambda: _run_seconds([*base, "-p", "no:mock_as"], cwd=tmp, env=env),
                "with": lambda: _run_seconds(base, cwd=tmp, env=env),
            },
            runs,
        )
    w, wo = median(got["with"]), median(got["without"])
    deltas = [a - b for a, b in zip(got["with"], got["without"], strict=True)]
    own_s, modules = plugin_import_cost(5 if quick else 9)
    return [
        Row(
            SECTION,
            "pytest run of one test that does not use the plugin: installed vs `-p no:mock_as`",
            f"without {fmt_ms(wo)}",
            f"with {fmt_ms(w)}",
            fmt_ratio(ratio_of(got["with"], got["without"])),
            note=f"median of {runs} interleaved runs; median difference {fmt_ms(median(deltas))} "
            f"(run-to-run noise is larger); the plugin's own imports take {fmt_ms(own_s)} "
            f"({', '.join(modules)}): nothing heavy loads until a fixture is used",
            data={**{k + "_s": v for k, v in got.items()}, "import_s": own_s, "modules": modules},
        )
    ]


def plugin_import_cost(runs: int) -> tuple[float, list[str]]:
    """Seconds of import (``-X importtime`` self times) the plugin adds beyond ``import pytest``,
    and which modules those are."""
    env = _pytest_env()

    def imported(code: str) -> dict[str, int]:
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", code],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        out: dict[str, int] = {}
        for line in done.stderr.splitlines():
            parts = line.split("|")
            if len(parts) == 3 and parts[0].startswith("import time:") and parts[0][12:].strip().isdigit():
                out[parts[2].strip()] = int(parts[0][12:].strip())
        return out

    costs: list[float] = []
    modules: list[str] = []
    for _ in range(runs):
        plain = imported("import pytest")
        both = imported("import pytest; import mock_as.plugin")
        extra = {name: us for name, us in both.items() if name not in plain}
        costs.append(sum(extra.values()) / 1e6)
        modules = sorted(extra)
    return median(costs), modules


_CONFTEST = """\
import json
import os
import time

import pytest
import responses

TIMES = {}
URL = "https://openam.example.com:8443/openam/oauth2/realms/root/access_token"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    start = time.perf_counter()
    yield
    TIMES.setdefault(item.name, [0.0, 0.0])[0] = time.perf_counter() - start


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    start = time.perf_counter()
    yield
    TIMES.setdefault(item.name, [0.0, 0.0])[1] = time.perf_counter() - start


def pytest_sessionfinish(session):
    with open(os.environ["MOCK_AS_BENCH_TIMES"], "w", encoding="utf-8") as fh:
        json.dump(TIMES, fh)


@pytest.fixture
def responses_stub():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as stub:
        stub.add(responses.POST, URL, json={"access_token": "x", "scope": "write",
                                            "token_type": "Bearer", "expires_in": 3599})
        yield stub
"""

#: Test kind -> the fixture its tests ask for ("" for none).
_KINDS = {"plain": "", "stub": "responses_stub", "requests": "mock_as_requests", "live": "mock_as"}


def per_test_cost(quick: bool) -> list[Row]:
    """Fixture setup + teardown per test, from one pytest run with the kinds interleaved."""
    count = 100 if quick else 300
    lines = []
    for i in range(count):
        for kind, fixture in _KINDS.items():
            lines.append(f"def test_{i:04d}_{kind}({fixture}):\n    pass\n")
    env = _pytest_env()
    with tempfile.TemporaryDirectory(prefix="mock-as-bench-") as tmp:
        Path(tmp, "conftest.py").write_text(_CONFTEST, encoding="utf-8")
        Path(tmp, "test_fixtures.py").write_text("\n\n".join(lines), encoding="utf-8")
        times_file = Path(tmp, "times.json")
        env["MOCK_AS_BENCH_TIMES"] = str(times_file)
        _run_seconds(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_fixtures.py"],
            cwd=tmp,
            env=env,
        )
        times: dict[str, list[float]] = json.loads(times_file.read_text(encoding="utf-8"))
    per_kind: dict[str, list[float]] = {kind: [] for kind in _KINDS}
    for name, (setup, teardown) in times.items():
        per_kind[name.rsplit("_", 1)[1]].append(setup + teardown)
    cost = {kind: median(values) for kind, values in per_kind.items()}
    own = {kind: cost[kind] - cost["plain"] for kind in _KINDS}
    rows = [
        Row(
            SECTION,
            "per-test fixture setup + teardown: `mock_as_requests` vs a `responses` stub fixture",
            f"stub {fmt_us(own['stub'])}",
            f"mock_as_requests {fmt_us(own['requests'])}",
            fmt_ratio(own["requests"] / own["stub"]) if own["stub"] > 0 else "—",
            note=f"median over {count} tests of each kind, interleaved in one pytest run, less a "
            f"fixture-less test's {fmt_us(cost['plain'])}; the live `mock_as` fixture (reset and "
            f"reconfigure only): {fmt_us(own['live'])}",
            data={"per_test_s": cost, "fixture_s": own},
        )
    ]
    reset_s = reset_cost(2000 if quick else 5000)
    rows.append(
        Row(
            SECTION,
            "`State.reset()` after a test that took 10 tokens (plugin's default config)",
            "—",
            fmt_us(reset_s),
            note="median of single timed resets",
            data={"reset_s": reset_s},
        )
    )
    return rows


def reset_cost(runs: int) -> float:
    """Median seconds of one :meth:`State.reset` of the plugin's default configuration after
    10 tokens were issued."""
    from mock_as import State
    from mock_as.plugin import build_config
    from mock_as.router import handle

    state = State(build_config({}, {}))
    body = b"grant_type=password&username=demo&password=Ch4ng31t&scope=write&client_id=myClient&client_secret=forgerock"
    headers = {"content-type": "application/x-www-form-urlencoded"}
    took: list[float] = []
    for _ in range(runs):
        for _ in range(10):
            handle(state, "POST", TOKEN_PATH, "", headers, body, "https://am.example.com/openam")
        start = time.perf_counter()
        state.reset()
        took.append(time.perf_counter() - start)
    return median(took)


def run(quick: bool) -> list[Row]:
    """All start-up rows."""
    log("start-up: spawn to first token")
    rows = first_token(quick)
    log("start-up: plugin load")
    rows.extend(plugin_load(quick))
    log("start-up: per-test fixture cost")
    rows.extend(per_test_cost(quick))
    return rows


def main(argv: list[str] | None = None) -> int:
    """Print this section's rows as JSON lines."""
    return section_main(run, __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
