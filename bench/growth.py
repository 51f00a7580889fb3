"""Growth: the cost of a token as live tokens pile up, memory per live token, and a soak.

Tokens are issued in process through the token endpoint itself (``mock_as.endpoints.handle``, the
code both transports call), on a frozen clock.

* ``growth``: issue up to 10^6 tokens that never expire during the run; at 10^4, 10^5 and 10^6
  live tokens, the cost per token against a store of 10^3 (short batches on each, in alternating
  rounds: the median per-round ratio) and the amortised cost over the decade before it (garbage
  collection included); memory per live token from the resident set size between 10^4 tokens
  (when the bounded call journal is full) and the end; every full garbage collection's duration.
* ``soak``: tokens live 60 s, the clock moves 1 s every 1,000 issues, so ~60,000 are live at any
  time; over a few million issues the live count and the resident set size must stay flat, which
  they do only if expired tokens are purged.

Each mode runs in a fresh process so its resident set size is its own:
``python bench/growth.py growth|soak [--quick]`` prints result rows as JSON lines.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import sys
import time
from collections.abc import Iterable
from typing import Any

from common import (
    FORM_TYPE,
    TOKEN_BODY,
    TOKEN_PATH,
    Row,
    fmt_ms,
    fmt_ratio,
    fmt_us,
    heap_bytes,
    log,
    median,
    rss_bytes,
)

SECTION = "Growth"
FLAT_GOAL = 1.1  # cost per token at 10^6 live tokens over the cost at 10^3
MEMORY_GOAL = 400  # bytes per live token
BEFORE_BYTES = 634  # bytes per live token measured before the compact store (RESULTS of 2026-11-26)
PAUSE_GOAL_S = 0.050  # the longest full garbage collection at 10^6 live tokens
CLOCK_START = 1_700_000_000.0
SOAK_LIFETIME = 60
SOAK_RATE = 1000  # issues per second of the mock's clock
SOAK_DRIFT_GOAL = 0.05  # from the first steady sample to the end
SOAK_HALF_GOAL = 0.01  # over the second half: no growth that goes on


class Issuer:
    """Issues ROPC tokens through the endpoint, as fast as the endpoint goes."""

    def __init__(self, lifetime: int | None = None) -> None:
        from mock_as import MockASConfig, State
        from mock_as.router import handle

        config = MockASConfig(seed=0, clock_start=CLOCK_START)
        if lifetime is not None:
            config = dataclasses.replace(
                config,
                realms=tuple(dataclasses.replace(r, access_token_lifetime=lifetime) for r in config.realms),
            )
        self.state = State(config)
        self._handle = handle
        self._body = TOKEN_BODY.encode()
        self._headers = {"content-type": FORM_TYPE}
        self.issued = 0

    def issue(self, count: int) -> None:
        """Issue ``count`` tokens; raises if the endpoint refuses one."""
        handle, state, body, headers = self._handle, self.state, self._body, self._headers
        for _ in range(count):
            r = handle(state, "POST", TOKEN_PATH, "", headers, body, "https://am.example.com/openam")
            if r.status != 200:
                raise RuntimeError(f"token endpoint answered {r.status}: {r.body[:200]!r}")
        self.issued += count

    def longest(self, count: int) -> float:
        """Issue ``count`` tokens one by one and return the longest single issue, in seconds (a
        garbage collection pass lands on one of them)."""
        handle, state, body, headers = self._handle, self.state, self._body, self._headers
        clock = time.perf_counter
        worst = 0.0
        for _ in range(count):
            start = clock()
            r = handle(state, "POST", TOKEN_PATH, "", headers, body, "https://am.example.com/openam")
            took = clock() - start
            worst = max(worst, took)
            if r.status != 200:
                raise RuntimeError(f"token endpoint answered {r.status}: {r.body[:200]!r}")
        self.issued += count
        return worst

    def refill(self, count: int) -> None:
        """Back to ``count`` live tokens (a reset, then ``count`` issues)."""
        self.state.reset()
        self.issue(count)

    def timed(self, count: int) -> float:
        """Seconds per token over ``count`` issues."""
        start = time.perf_counter()
        self.issue(count)
        return (time.perf_counter() - start) / count


class FullCollections:
    """The duration of every full (oldest-generation) garbage collection, from ``gc.callbacks``."""

    def __init__(self) -> None:
        self.pauses: list[float] = []
        self._start = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if info.get("generation") != 2:
            return
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.pauses.append(time.perf_counter() - self._start)

    def longest_since(self, index: int) -> float:
        return max(self.pauses[index:], default=0.0)


def growth(quick: bool) -> list[Row]:
    """Cost per token at each decade of live tokens (paired with a store of 10^3), memory per live
    token, and the longest full garbage collection."""
    top = 5 if quick else 6
    checkpoints = [10**k for k in range(3, top + 1)]
    issuer = Issuer()
    reference = Issuer()  # holds 10^3 live tokens, measured in the same rounds
    batch, batches = 200, 9
    first = checkpoints[0]
    probe = batch * batches
    ratios: dict[int, list[float]] = {}
    marginal: dict[int, float] = {}
    baseline: dict[int, float] = {}
    amortised: dict[int, float] = {}
    rss: dict[int, int] = {}
    pauses: dict[int, float] = {}
    full_gc: dict[int, float] = {}
    collections = FullCollections()
    gc.callbacks.append(collections)
    try:
        issuer.issue(200)  # warm up
        reference.issue(200)
        issuer.state.reset()
        issuer.issued = 0
        previous = 0
        for checkpoint in checkpoints:
            seen = len(collections.pauses)
            fill = checkpoint - probe - issuer.issued
            start = time.perf_counter()
            pauses[checkpoint] = issuer.longest(max(0, fill))
            took = time.perf_counter() - start
            mine, theirs = [], []
            for _ in range(batches):
                reference.refill(first)
                theirs.append(reference.timed(batch))
                start = time.perf_counter()
                mine.append(issuer.timed(batch))
                took += time.perf_counter() - start
            ratios[checkpoint] = [m / t for m, t in zip(mine, theirs, strict=True)]
            marginal[checkpoint] = median(mine)
            baseline[checkpoint] = median(theirs)
            amortised[checkpoint] = took / max(1, issuer.issued - previous)
            previous = issuer.issued
            live = len(issuer.state.tokens)
            if live != issuer.issued:
                raise RuntimeError(f"{live} live tokens after {issuer.issued} issued: some expired")
            gc.collect()
            full_gc[checkpoint] = collections.longest_since(seen)
            rss[checkpoint] = rss_bytes()
            log(
                f"growth: {checkpoint:>9,} live tokens, {fmt_us(marginal[checkpoint])}/token "
                f"({fmt_ratio(median(ratios[checkpoint]))} the cost at {first:,}), longest issue "
                f"{fmt_ms(pauses[checkpoint])}, longest full GC {fmt_ms(full_gc[checkpoint])}, "
                f"RSS {rss[checkpoint] / 2**20:,.0f} MiB"
            )
    finally:
        gc.callbacks.remove(collections)
    rows = []
    for checkpoint in checkpoints[1:]:
        ratio = median(ratios[checkpoint])
        last = checkpoint == checkpoints[-1]
        rows.append(
            Row(
                SECTION,
                f"cost per token with {checkpoint:,} live tokens (vs {first:,})",
                f"{fmt_us(baseline[checkpoint])} at {first:,}",
                f"{fmt_us(marginal[checkpoint])} at {checkpoint:,}",
                fmt_ratio(ratio),
                f"≤ {FLAT_GOAL:.1f}×" if last else "—",
                ratio <= FLAT_GOAL if last else None,
                note=f"median of per-round ratios over {batches} rounds, each a batch of {batch} "
                f"issues through the endpoint on a store of {first:,} and one on the growing store "
                f"(per-round {min(ratios[checkpoint]):.2f}–{max(ratios[checkpoint]):.2f}); amortised "
                f"over the decade up to it, garbage collection included: {fmt_us(amortised[checkpoint])}; "
                f"the longest single issue in that decade: {fmt_ms(pauses[checkpoint])} (a garbage "
                "collection, or one of the token map's shards growing: a resize copies its slots)",
                data={
                    "ratios": ratios[checkpoint],
                    "marginal_s": marginal[checkpoint],
                    "baseline_s": baseline[checkpoint],
                    "amortised_s": amortised[checkpoint],
                    "longest_s": pauses[checkpoint],
                },
            )
        )
    low, high = checkpoints[1], checkpoints[-1]
    per_token = (rss[high] - rss[low]) / (high - low)
    rows.append(
        Row(
            SECTION,
            "memory per live token",
            "—",
            f"{per_token:,.0f} bytes",
            f"{per_token / BEFORE_BYTES:.2f}×",
            f"≤ {MEMORY_GOAL} bytes",
            per_token <= MEMORY_GOAL,
            note=f"ratio to the {BEFORE_BYTES} bytes a token cost before this store (tuples of "
            "strings and floats, a heap of tuples for expiry); resident set growth from "
            f"{low:,} to {high:,} live tokens "
            f"({rss[low] / 2**20:,.0f} → {rss[high] / 2**20:,.0f} MiB): the token's id string and its "
            "slot in the token map, a 56-byte packed row (index of the fields tokens share, issue "
            "instant, place in the issue order, grant and audit ids as raw bytes) and a pointer to "
            "its id in an expiry queue",
            data={"bytes_per_token": per_token, "rss": rss},
            measured=f"{per_token:,.0f} bytes",
            miss=f"{per_token / MEMORY_GOAL - 1:.0%} over" if per_token > MEMORY_GOAL else "",
        )
    )
    worst = full_gc[high]
    rows.append(
        Row(
            SECTION,
            f"longest full garbage collection with {high:,} live tokens",
            "—",
            fmt_ms(worst),
            "—",
            f"≤ {PAUSE_GOAL_S * 1000:.0f} ms",
            worst <= PAUSE_GOAL_S,
            note=f"{', '.join(f'{fmt_ms(full_gc[c])} up to {c:,}' for c in checkpoints)}; every "
            "oldest-generation collection timed through `gc.callbacks`, those the "
            "interpreter ran and the `gc.collect()` at each checkpoint; token rows are `bytes`, which "
            "the collector does not track, so the token map is left untracked and a full "
            "collection does not walk the tokens (it only glances over the expiry queues' "
            "pointers to strings)",
            data={"full_gc_s": full_gc},
            measured=fmt_ms(worst),
            miss=f"{worst / PAUSE_GOAL_S - 1:.0%} over" if worst > PAUSE_GOAL_S else "",
        )
    )
    return rows


def soak(quick: bool) -> list[Row]:
    """Tokens expiring continuously: the live count and memory must level off."""
    total = 300_000 if quick else 2_000_000
    samples = 20
    step = total // samples
    issuer = Issuer(lifetime=SOAK_LIFETIME)
    clock = issuer.state.clock
    trace: list[dict[str, Any]] = []
    start = time.perf_counter()
    while issuer.issued < total:
        for _ in range(step // SOAK_RATE):
            issuer.issue(SOAK_RATE)
            clock.advance(1)
        gc.collect()
        trace.append(
            {
                "issued": issuer.issued,
                "live": len(issuer.state.tokens),
                "heap": issuer.state.tokens.queued(),
                "rss": rss_bytes(),
                **heap_bytes(),
            }
        )
    took = time.perf_counter() - start
    steady_live = SOAK_LIFETIME * SOAK_RATE
    # Steady state: from two lifetimes' worth of issues on.
    steady = [t for t in trace if t["issued"] >= 2 * steady_live] or trace[-2:]
    first, last = steady[0], trace[-1]
    drift = last["rss"] / first["rss"] - 1
    half_drift = last["rss"] / trace[len(trace) // 2 - 1]["rss"] - 1
    max_live = max(t["live"] for t in steady)
    met = drift <= SOAK_DRIFT_GOAL and half_drift <= SOAK_HALF_GOAL and max_live <= steady_live * 1.05
    log(f"soak: {issuer.issued:,} issued, {last['live']:,} live, RSS drift {drift:+.1%}")
    growth = last["rss"] - first["rss"]
    why = (". Why: " if not met and growth > 0 else "; ") + _heap_story(first, last, steady)
    why += (
        "; the token map is spread over 64 dicts: as one dict it was rebuilt every hundred "
        "thousand issues or so (a new 3.7 MiB table before the old was freed), and the C allocator "
        "kept a freed table's worth from each of the first rebuilds (+14.9% in this soak before)"
    )
    return [
        Row(
            SECTION,
            f"soak: {total:,} tokens issued, each living {SOAK_LIFETIME} s, clock +1 s per {SOAK_RATE:,}",
            f"{first['live']:,} live, RSS {first['rss'] / 2**20:,.0f} MiB at {first['issued']:,} issued",
            f"{last['live']:,} live, RSS {last['rss'] / 2**20:,.0f} MiB at {last['issued']:,} issued",
            fmt_ratio(last["rss"] / first["rss"]),
            f"flat: RSS ≤ +{SOAK_DRIFT_GOAL:.0%}, second half ≤ +{SOAK_HALF_GOAL:.0%}",
            met,
            f"live tokens stay ≤ {max_live:,} (lifetime × rate = {steady_live:,}), expiry queues ≤ "
            f"{max(t['heap'] for t in steady):,}; RSS in MiB every {step:,} issues from "
            f"{first['issued']:,} on: {_runs(t['rss'] / 2**20 for t in steady)}; over the second "
            f"half {half_drift:+.1%}; without the purge all {total:,} would be live; "
            f"{fmt_us(took / total)} per token over the soak{why}",
            data={"trace": trace, "drift": drift, "seconds": took},
            measured=f"RSS {drift:+.1%}, second half {half_drift:+.1%}, ≤ {max_live:,} live",
            miss="" if met else f"RSS {drift:+.1%}, second half {half_drift:+.1%}, up to {max_live:,} live",
        )
    ]


def _heap_story(first: dict[str, Any], last: dict[str, Any], steady: list[dict[str, Any]]) -> str:
    """Where the resident set's growth over the soak lies, from the heap counts of its samples."""
    parts = []
    if "arenas" in first and "arenas" in last:
        counts = [t["arenas"] for t in steady]
        parts.append(
            f"Python's object allocator held {first['arenas']} arenas of 1 MiB at the first steady "
            f"sample and {last['arenas']} at the end (between {min(counts)} and {max(counts)} "
            "over the steady samples): an arena goes back to the system only when every object in "
            "it is gone, and token ids and rows that live a minute share arenas with the objects of "
            "the requests around them, so how many stay in use settles at a level set by the churn"
        )
    if "c_used" in first and "c_used" in last:
        parts.append(
            f"the C heap in use {first['c_used'] / 2**20:.1f} → {last['c_used'] / 2**20:.1f} MiB "
            f"(free in it {first['c_free'] / 2**20:.1f} → {last['c_free'] / 2**20:.1f} MiB)"
        )
    parts.append(
        "the live count and the expiry queues stay flat, and the second half shows no growth: a level the allocators settle at in the first few lifetimes, not "
        "tokens kept"
    )
    return "; ".join(parts)


def _runs(values: Iterable[float]) -> str:
    """``86.0 ×3, 89.4 ×15``: consecutive equal values (to 0.1) collapsed."""
    out: list[list[Any]] = []
    for value in values:
        shown = f"{value:.1f}"
        if out and out[-1][0] == shown:
            out[-1][1] += 1
        else:
            out.append([shown, 1])
    return ", ".join(v if n == 1 else f"{v} ×{n}" for v, n in out)


def main(argv: list[str] | None = None) -> int:
    """Run one mode and print its rows as JSON lines."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("growth", "soak"))
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    rows = growth(args.quick) if args.mode == "growth" else soak(args.quick)
    for row in rows:
        sys.stdout.write(json.dumps(row.to_json()) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
