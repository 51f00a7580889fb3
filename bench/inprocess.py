"""In-process: a full ROPC token call through the mock's patched transports vs a canned stub.

* ``requests``: a ``requests.Session().post`` answered by :func:`mock_as.patch_requests` (what the
  ``mock_as_requests`` fixture uses) vs the same post answered by a ``responses`` stub that returns
  the mock's own JSON body and headers, byte for byte.
* ``httpx``: an ``httpx.Client().post`` answered by :func:`mock_as.patch_httpx` vs a ``respx`` route
  returning the same body and headers.

Both sides run in alternating rounds (see :mod:`common`); the mock's state is reset before each of
its rounds, as the fixtures do before each test. Run alone: ``python bench/inprocess.py [--quick]``.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from typing import Any

from common import (
    FORM_TYPE,
    TOKEN_FORM,
    TOKEN_PATH,
    Row,
    fmt_ratio,
    fmt_us,
    interleaved,
    log,
    median,
    per_call,
    section_main,
    skipped,
)

SECTION = "In-process"
GOAL = 1.15


def _check(response: Any) -> None:
    """A benchmarked call must have been answered with a token, by the stub or the mock alike."""
    if response.status_code != 200 or response.content[:1] != b"{":
        raise RuntimeError(f"unexpected answer {response.status_code}: {response.text[:200]}")


def _settings(quick: bool) -> tuple[int, float]:
    """(rounds, seconds per batch)."""
    return (15, 0.06) if quick else (31, 0.12)


def endpoint_cost(calls: int = 5000) -> float:
    """Seconds per call of the endpoint alone (``mock_as.router.handle``, no transport): the
    real work a canned stub skips."""
    from mock_as import MockASConfig, State
    from mock_as.router import handle

    state = State(MockASConfig(seed=0))
    body = "&".join(f"{k}={v}" for k, v in TOKEN_FORM.items()).encode()
    headers = {"content-type": FORM_TYPE}

    def call() -> object:
        return handle(state, "POST", TOKEN_PATH, "", headers, body, "https://am.example.com/openam")

    per_call(call, 500)
    best = float("inf")
    for _ in range(3):
        state.reset()
        best = min(best, per_call(call, calls))
    return best


def endpoint_profile(calls: int = 3000) -> str:
    """Where the endpoint's time goes: the functions with the largest own time under cProfile, as
    shares of the total (the profiler's own cost inflates small functions alike)."""
    import cProfile
    import pstats

    from mock_as import MockASConfig, State
    from mock_as.router import handle

    state = State(MockASConfig(seed=0))
    body = "&".join(f"{k}={v}" for k, v in TOKEN_FORM.items()).encode()
    headers = {"content-type": FORM_TYPE}

    def calls_() -> None:
        for _ in range(calls):
            handle(state, "POST", TOKEN_PATH, "", headers, body, "https://am.example.com/openam")

    calls_()
    state.reset()
    profiler = cProfile.Profile()
    profiler.runcall(calls_)
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    own = {f"{func} ({file.rsplit('/', 1)[-1]})": tt for (file, _, func), (_, _, tt, _, _) in stats.items()}
    total = sum(own.values())
    top = sorted(own.items(), key=lambda item: -item[1])[:8]
    return ", ".join(f"`{name}` {tt / total:.0%}" for name, tt in top)


def bench_requests(quick: bool) -> Row:
    """``patch_requests`` vs a ``responses`` stub, one ``Session.post`` per call."""
    what = "ROPC token call, `requests` (`patch_requests` vs `responses` stub)"
    import requests
    import responses
    from mock_as import MockASConfig, State, patch_requests

    rounds, target = _settings(quick)
    state = State(MockASConfig(seed=0))
    session = requests.Session()
    with patch_requests(state=state) as handle:
        url = handle.token_url
        reference = session.post(url, data=TOKEN_FORM)
    if reference.status_code != 200:
        raise RuntimeError(f"mock answered {reference.status_code}: {reference.text}")
    content_type = reference.headers["Content-Type"]
    headers = {k: v for k, v in reference.headers.items() if k.lower() != "content-type"}
    body = reference.content

    def post() -> object:
        return session.post(url, data=TOKEN_FORM)

    def canned(calls: int) -> float:
        stub = responses.RequestsMock(assert_all_requests_are_fired=False)
        stub.add(responses.POST, url, body=body, headers=headers, content_type=content_type)
        stub.start()
        try:
            took = per_call(post, calls)
            _check(post())
        finally:
            stub.stop(allow_assert=False)
            stub.reset()
        return took

    def mock(calls: int) -> float:
        state.reset()
        with patch_requests(state=state):
            took = per_call(post, calls)
            _check(post())
        return took

    return _compare(what, "`responses` stub", "`patch_requests`", canned, mock, rounds, target)


def bench_httpx(quick: bool) -> Row:
    """``patch_httpx`` vs a ``respx`` route, one ``httpx.Client.post`` per call."""
    what = "ROPC token call, `httpx` (`patch_httpx` vs `respx` route)"
    if importlib.util.find_spec("httpx") is None or importlib.util.find_spec("respx") is None:
        return skipped(
            SECTION, what, "httpx/respx not installed: `pip install 'mock-as[httpx]'`", f"≤ {GOAL:.2f}×"
        )
    import httpx
    import respx
    from mock_as import MockASConfig, State, patch_httpx

    rounds, target = _settings(quick)
    state = State(MockASConfig(seed=0))
    client = httpx.Client()
    with patch_httpx(state=state) as handle:
        url = handle.token_url
        reference = client.post(url, data=TOKEN_FORM)
    if reference.status_code != 200:
        raise RuntimeError(f"mock answered {reference.status_code}: {reference.text}")
    headers = list(reference.headers.items())
    body = reference.content

    def post() -> object:
        return client.post(url, data=TOKEN_FORM)

    def canned(calls: int) -> float:
        router = respx.mock(assert_all_called=False)
        router.post(url).mock(return_value=httpx.Response(200, headers=headers, content=body))
        router.start()
        try:
            took = per_call(post, calls)
            _check(post())
        finally:
            router.stop(quiet=True)
        return took

    def mock(calls: int) -> float:
        state.reset()
        with patch_httpx(state=state):
            took = per_call(post, calls)
            _check(post())
        return took

    return _compare(
        what,
        "`respx` route",
        "`patch_httpx`",
        canned,
        mock,
        rounds,
        target,
        note=(
            "the mock answers at httpx's own transport (`mock_as.httpx_transport`: "
            "`HTTPTransport.handle_request` for URLs under its base URL, everything else on to "
            "respx), so no respx routing runs per call; the stub is respx's cheapest route, a "
            "prebuilt response"
        ),
    )


def _compare(
    what: str,
    baseline_name: str,
    mock_name: str,
    canned: Callable[[int], float],
    mock: Callable[[int], float],
    rounds: int,
    target: float,
    note: str = "",
) -> Row:
    """Calibrate a batch size on the baseline, then run the interleaved rounds and make the row."""
    calls = _calibrated(canned, target)
    subjects: dict[str, Callable[[], float]] = {
        "baseline": lambda: canned(calls),
        "mock": lambda: mock(calls),
    }
    for batch in subjects.values():  # warm every path before measuring
        batch()
    got = interleaved(subjects, rounds)
    ratios = [m / b for b, m in zip(got["baseline"], got["mock"], strict=True)]
    ratio = median(ratios)
    b, m = median(got["baseline"]), median(got["mock"])
    met = ratio <= GOAL
    text = (
        f"{rounds} interleaved rounds of {calls} calls, per-round ratios {min(ratios):.2f}–"
        f"{max(ratios):.2f}; the mock adds {fmt_us(m - b)} per call"
    )
    data: dict[str, Any] = {"calls": calls, "ratio": ratio, **{f"{k}_s": v for k, v in got.items()}}
    if note:
        text += f"; {note}"
    return Row(
        SECTION,
        what,
        f"{baseline_name} {fmt_us(b)}",
        f"{mock_name} {fmt_us(m)}",
        fmt_ratio(ratio),
        f"≤ {GOAL:.2f}×",
        met,
        text,
        data,
    )


def _calibrated(batch: Callable[[int], float], target: float) -> int:
    """Calls per batch so one batch of ``batch`` takes about ``target`` seconds."""
    seconds_per_call = batch(50)
    return max(50, min(50_000, int(target / max(seconds_per_call, 1e-7))))


def run(quick: bool) -> list[Row]:
    """All in-process rows, with the endpoint's own cost as an explanation row."""
    rows: list[Row] = []
    log("in-process: requests vs responses")
    rows.append(bench_requests(quick))
    log("in-process: httpx vs respx")
    rows.append(bench_httpx(quick))
    cost = endpoint_cost(2000 if quick else 5000)
    rows.append(
        Row(
            SECTION,
            "the endpoint alone (`router.handle`, no transport): the work a stub skips",
            "—",
            fmt_us(cost),
            note="form parsing, client and user authentication, minting and storing the token, "
            "the journal entry; best of 3 batches; largest own times under cProfile: "
            f"{endpoint_profile(1000 if quick else 3000)} (the form parser was parse_qsl, about a "
            "fifth of the endpoint before it was replaced by one that unquotes only fields that "
            "need it)",
            data={"handle_s": cost},
        )
    )
    for row in rows[:2]:
        if row.met is False and "mock_s" in row.data:
            row.note += ". " + why(row.data, cost)
    return rows


def why(data: dict[str, Any], endpoint_s: float) -> str:
    """Where the mock's extra time per call goes, from one comparison's rounds and the endpoint's
    own cost."""
    base, mock = median(data["baseline_s"]), median(data["mock_s"])
    extra = mock - base
    rest = extra - endpoint_s
    return (
        f"Why: of the {fmt_us(extra)} the mock adds per call, the endpoint's own work is "
        f"{fmt_us(endpoint_s)} ({endpoint_s / extra:.0%}) and the rest, {fmt_us(rest)}, the transport "
        "glue (URL split, header copy and validation, body read, timeout hook) and noise. A canned "
        "stub does none of the endpoint's work, so the cheaper the stub's transport, the larger the "
        "ratio that work makes"
    )


def main(argv: list[str] | None = None) -> int:
    """Print this section's rows as JSON lines."""
    return section_main(run, __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
