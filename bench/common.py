"""Shared pieces of the benchmark sections: result rows, paired timing, the token request.

Every comparison here is *paired*: the baseline and the mock run in alternating rounds in the same
process (or the same load run), and what is reported is the median of the per-round ratios. On a
shared, noisy machine a slow spell then hits both sides of a round alike and cancels out of the
ratio, where absolute times would carry it.
"""

from __future__ import annotations

import gc
import os
import re
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from mock_as.config import DOCUMENTED_REQUEST

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

#: The ROPC token request every section sends (AM's documented example).
TOKEN_FORM: dict[str, str] = dict(DOCUMENTED_REQUEST)
TOKEN_BODY = "&".join(f"{k}={v}" for k, v in TOKEN_FORM.items())
TOKEN_PATH = "/oauth2/realms/root/access_token"
FORM_TYPE = "application/x-www-form-urlencoded"

T = TypeVar("T")


@dataclass
class Row:
    """One line of the results table.

    ``ratio`` is mock ÷ baseline (for times lower is better, for throughput higher is better);
    ``met`` is ``None`` for a row with no goal (information only) or a skipped measurement;
    ``measured`` is what the goal is checked against (the ratio unless said otherwise) and
    ``miss`` says by how much a missed goal is missed.
    """

    section: str
    what: str
    baseline: str
    mock: str
    ratio: str = "—"
    goal: str = "—"
    met: bool | None = None
    note: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    measured: str = ""
    miss: str = ""

    def to_json(self) -> dict[str, Any]:
        """The row as plain JSON data."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Row:
        """A row from :meth:`to_json`'s output."""
        return cls(**data)


def skipped(section: str, what: str, reason: str, goal: str = "—") -> Row:
    """A row that says why a measurement (and the goal it checks, if any) did not run."""
    return Row(section, what, "skipped", "skipped", goal=goal, note=reason)


@dataclass
class Paired:
    """Per-round measurements of a baseline and the mock, taken in alternating order."""

    baseline: list[float]
    mock: list[float]

    @property
    def ratios(self) -> list[float]:
        """mock ÷ baseline for each round."""
        return [m / b for b, m in zip(self.baseline, self.mock, strict=True) if b > 0]

    @property
    def ratio(self) -> float:
        """The median of the per-round ratios."""
        return statistics.median(self.ratios)

    @property
    def spread(self) -> tuple[float, float]:
        """The lowest and highest per-round ratio."""
        return min(self.ratios), max(self.ratios)


def per_call(fn: Callable[[], object], calls: int) -> float:
    """Seconds per call of ``fn`` over ``calls`` back-to-back calls (the GC left on, as in a test)."""
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def interleaved(subjects: dict[str, Callable[[], T]], rounds: int) -> dict[str, list[T]]:
    """Run every subject (one measured batch each, returning its measurement) once per round for
    ``rounds`` rounds, rotating the order every round so drift and warm-up favour none of them."""
    names = list(subjects)
    out: dict[str, list[T]] = {name: [] for name in names}
    for i in range(rounds):
        gc.collect()
        shift = i % len(names)
        for name in names[shift:] + names[:shift]:
            out[name].append(subjects[name]())
    return out


def paired_rounds(baseline: Callable[[], float], mock: Callable[[], float], rounds: int) -> Paired:
    """:func:`interleaved` for two subjects, as a :class:`Paired`."""
    got = interleaved({"baseline": baseline, "mock": mock}, rounds)
    return Paired(got["baseline"], got["mock"])


def ratio_of(numerators: Sequence[float], denominators: Sequence[float]) -> float:
    """The median of per-round ratios ``numerators[i] / denominators[i]``."""
    return statistics.median(n / d for n, d in zip(numerators, denominators, strict=True) if d > 0)


def median(values: Sequence[float]) -> float:
    """The median (``nan`` for no values)."""
    return statistics.median(values) if values else float("nan")


def rss_bytes() -> int:
    """This process's resident set size, from ``/proc/self/statm``."""
    with open("/proc/self/statm", encoding="ascii") as fh:
        resident_pages = int(fh.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE")


def heap_bytes() -> dict[str, int]:
    """Where the heap is: Python's object allocator's arenas (``arenas``, 1 MiB each on 64-bit
    CPython 3.10+) and the C allocator's heap in use and free (``c_used``, ``c_free``, glibc's
    ``mallinfo2``); what cannot be read here is left out."""
    out: dict[str, int] = {}
    if hasattr(sys, "_debugmallocstats"):
        read, write = os.pipe()
        saved = os.dup(2)
        try:
            os.dup2(write, 2)
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            os.close(write)
        with os.fdopen(read, "rb") as fh:
            text = fh.read().decode("ascii", "replace")
        found = re.search(r"# arenas allocated current\s*=\s*([\d,]+)", text)
        if found:
            out["arenas"] = int(found.group(1).replace(",", ""))
    try:
        import ctypes

        class _MallInfo2(ctypes.Structure):
            _fields_ = [
                (name, ctypes.c_size_t)
                for name in (
                    "arena",
                    "ordblks",
                    "smblks",
                    "hblks",
                    "hblkhd",
                    "usmblks",
                    "fsmblks",
                    "uordblks",
                    "fordblks",
                    "keepcost",
                )
            ]

        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = _MallInfo2
        info = libc.mallinfo2()
        out["c_used"], out["c_free"] = int(info.uordblks), int(info.fordblks)
    except (OSError, AttributeError):
        pass
    return out


def fmt_us(seconds: float) -> str:
    """``12.3 µs``."""
    return f"{seconds * 1e6:,.1f} µs"


def fmt_ms(seconds: float) -> str:
    """``123 ms`` (one decimal below 10 ms)."""
    ms = seconds * 1e3
    return f"{ms:,.1f} ms" if ms < 10 else f"{ms:,.0f} ms"


def fmt_ratio(ratio: float) -> str:
    """``1.03×``."""
    return f"{ratio:.2f}×"


def log(message: str) -> None:
    """Progress to stderr (stdout carries results)."""
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def section_main(run: Callable[[bool], list[Row]], doc: str | None, argv: list[str] | None = None) -> int:
    """The command line of one section run alone: print its rows as JSON lines."""
    import argparse
    import json

    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0] if doc else None)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    for row in run(args.quick):
        sys.stdout.write(json.dumps(row.to_json()) + "\n")
    return 0
