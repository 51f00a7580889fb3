"""Run every benchmark and write ``bench/RESULTS.md``.

    python bench/run.py            # the full run (about 5 minutes on 2 cores)
    python bench/run.py --quick    # a shorter run (about 1.5 minutes)
    python bench/run.py --only live --only startup --output /tmp/partial.md

Installs nothing. Checks what it needs first and skips a section, saying how to install what is
missing: ``wrk`` (``apt-get install -y wrk``) for the live section, Node.js and
``npm ci --prefix bench/peers`` for the npm peer, ``pip install 'mock-as[httpx]'`` for the httpx
comparison. Every section runs in its own process, one after another, and prints its rows as
JSON lines; this script gathers them into one table per section plus the machine and the date.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from common import HERE, REPO, Row, log
from live import peer_missing, peer_version

#: Section name -> (title, command after ``python``, what it measures).
SECTIONS: dict[str, tuple[str, list[str], str]] = {
    "inprocess": (
        "In-process: a token call through the patched transports vs a canned stub",
        ["inprocess.py"],
        (
            "A full ROPC call (`Session.post` / `Client.post`) answered in process by the mock vs the "
            "same call answered by a canned stub returning the mock's own body and headers."
        ),
    ),
    "live": (
        "Live: `mock-as serve` under load",
        ["live.py"],
        (
            "`wrk` on loopback against `mock-as serve`, a canned-JSON server on the same WSGI server "
            "(waitress) and `oauth2-mock-server` (its password grant), in rotating order, round after "
            "round."
        ),
    ),
    "store": (
        "Store: several processes on Redis",
        ["store.py"],
        (
            "`wrk` on loopback against `mock-as serve` in memory (one process) and with `--store` on a "
            "local `redis-server` with 1, 2 and 4 workers; then the store's cost of one token request."
        ),
    ),
    "startup": (
        "Start-up, plugin and per-test cost",
        ["startup.py"],
        "Spawn to first token, the plugin's cost in a run that doesn't use it, and what each test pays.",
    ),
    "growth": (
        "Growth: issued tokens up to 10^6",
        ["growth.py", "growth"],
        "Tokens issued in process through the token endpoint on a frozen clock, none expiring.",
    ),
    "soak": (
        "Soak: tokens expiring all along",
        ["growth.py", "soak"],
        "Tokens living 60 s while the mock's clock moves on: expired ones must be purged.",
    ),
}
PACKAGES = ("mock-as", "flask", "werkzeug", "waitress", "requests", "responses", "httpx", "respx", "pytest")
DEFAULT_OUTPUT = HERE / "RESULTS.md"


# -- prerequisites ---------------------------------------------------------------------------------


def prerequisites() -> list[str]:
    """What is missing, each with how to install it (an empty list when everything is there)."""
    missing = []
    for module, hint in (
        ("mock_as", "pip install -e ."),
        ("requests", "pip install -e ."),
        ("responses", "pip install -e ."),
        ("werkzeug", "pip install -e ."),
        ("waitress", "pip install -e ."),
    ):
        if importlib.util.find_spec(module) is None:
            missing.append(f"Python package `{module}`: `{hint}` (required)")
    if importlib.util.find_spec("httpx") is None or importlib.util.find_spec("respx") is None:
        missing.append("httpx/respx: `pip install 'mock-as[httpx]'` (the httpx comparison is skipped)")
    if shutil.which("wrk") is None:
        missing.append("wrk: `apt-get install -y wrk` (the load runs are skipped)")
    peer = peer_missing()
    if peer is not None:
        missing.append(f"{peer} (the comparison with the npm peer is skipped)")
    return missing


# -- the machine -----------------------------------------------------------------------------------


def _first_line(argv: list[str]) -> str | None:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (done.stdout or done.stderr).strip()
    return text.splitlines()[0] if text else None


def machine() -> dict[str, str]:
    """Facts about this machine and software that bear on the numbers."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "unknown"
    try:
        kib = int(Path("/proc/meminfo").read_text(encoding="utf-8").split()[1])
        memory = f"{kib / 2**20:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    versions = []
    for name in PACKAGES:
        try:
            versions.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{name} (not installed)")
    commit = _first_line(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"]) or "unknown"
    dirty = _first_line(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no", "mock_as"])
    tools = []
    wrk = _first_line(["wrk", "-v"]) if shutil.which("wrk") else None
    if wrk:
        tools.append(wrk.split(" [")[0].replace("wrk debian/", "wrk "))
    node = _first_line(["node", "--version"]) if shutil.which("node") else None
    if node:
        tools.append(f"Node.js {node}")
    peer = peer_version()
    if peer:
        tools.append(f"oauth2-mock-server {peer}")
    return {
        "CPU": f"{cpu}, {os.cpu_count()} logical CPUs (`nproc` {len(os.sched_getaffinity(0))})",
        "memory": memory,
        "system": f"{platform.system()} {platform.release()}, {_os_name()}",
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
        "packages": ", ".join(versions),
        "tools": ", ".join(tools) or "none",
        "mock-as source": f"commit {commit}" + (" with uncommitted changes in mock_as/" if dirty else ""),
        "load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def _os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text(encoding="utf-8").splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return "unknown distribution"


# -- running the sections --------------------------------------------------------------------------


def run_section(name: str, quick: bool) -> list[Row]:
    """Run one section in its own process and read its rows."""
    _, argv, _ = SECTIONS[name]
    command = [sys.executable, str(HERE / argv[0]), *argv[1:], *(["--quick"] if quick else [])]
    log(f"== {name}: {' '.join(Path(a).name if a.endswith('.py') else a for a in command[1:])}")
    done = subprocess.run(command, cwd=HERE, stdout=subprocess.PIPE, text=True, timeout=1500, check=False)
    rows = [Row.from_json(json.loads(line)) for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0:
        rows.append(
            Row(
                name, "section failed", "—", "—", note=f"exited with status {done.returncode}; see its output"
            )
        )
    return rows


# -- the report ------------------------------------------------------------------------------------


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def verdict(row: Row) -> str:
    """``yes``, ``**no** (missed by …)``, ``skipped`` or ``—``."""
    if row.baseline == "skipped":
        return "skipped"
    if row.met is None:
        return "—"
    if row.met:
        return "yes"
    return f"**no** ({shortfall(row)})"


def shortfall(row: Row) -> str:
    """How far a missed goal is off: the row's own word, else from the ratio and the goal."""
    if row.miss:
        return row.miss
    try:
        goal = float(row.goal.split()[1].rstrip("×%"))
        measured = float(row.ratio.rstrip("×"))
    except (IndexError, ValueError):
        return "missed"
    if row.goal.startswith("≤"):
        return f"{measured / goal - 1:.0%} over"
    if row.goal.startswith("≥"):
        return f"{1 - measured / goal:.0%} short"
    return "missed"


def render(results: dict[str, list[Row]], info: dict[str, str], meta: dict[str, str]) -> str:
    """The markdown report."""
    out = [
        "# Benchmarks",
        "",
        f"Written by `{meta['command']}` on {meta['date']} ({meta['mode']}, {meta['elapsed']}).",
        "",
        (
            "Every ratio is the median of per-round ratios, with the baseline and the mock measured in "
            "alternating (rotating) rounds of the same run: this machine is shared and noisy, so "
            "absolute times move from run to run while the ratios move much less. *ratio* is mock ÷ "
            "baseline: below 1 the mock is faster for times, above 1 it is faster for throughput."
        ),
        "",
    ]
    goal_rows = [r for rows in results.values() for r in rows if r.goal != "—"]
    if goal_rows:
        out += ["## Goals", "", "| goal | measured | target | met? |", "|---|---|---|---|"]
        for row in goal_rows:
            measured = "skipped" if row.baseline == "skipped" else (row.measured or row.ratio)
            out.append(f"| {_cell(row.what)} | {measured} | {row.goal} | {verdict(row)} |")
        missed = [r for r in goal_rows if r.met is False]
        out.append("")
        if missed:
            out.append("Missed goals, by how much and why:")
            out.append("")
            for row in missed:
                out.append(
                    f"- **{row.what}**: {row.measured or row.ratio} against {row.goal} "
                    f"({shortfall(row)}). {row.note}"
                )
            out.append("")
    for name, rows in results.items():
        title, _, about = SECTIONS[name]
        out += [
            f"## {title}",
            "",
            about,
            "",
            "| what | baseline | mock | ratio | goal | met? |",
            "|---|---|---|---|---|---|",
        ]
        notes = []
        for row in rows:
            mark = ""
            if row.note:
                notes.append(row.note)
                mark = f" [{len(notes)}]"
            out.append(
                f"| {_cell(row.what)}{mark} | {_cell(row.baseline)} | {_cell(row.mock)} | {row.ratio} "
                f"| {row.goal} | {verdict(row)} |"
            )
        out.append("")
        out += [f"{i}. {_cell(note)}" for i, note in enumerate(notes, 1)]
        out.append("")
    out += ["## Machine", ""]
    out += [f"- **{key}**: {value}" for key, value in info.items()]
    out += [
        "",
        "## Rerun",
        "",
        "```sh",
        "apt-get install -y wrk          # once: the load generator",
        "npm ci --prefix bench/peers     # once, with Node.js 20.19+: oauth2-mock-server, pinned",
        "python bench/run.py             # or --quick; writes bench/RESULTS.md",
        "```",
        "",
        (
            "Each section also runs alone and prints JSON lines: `python bench/inprocess.py`, "
            "`bench/live.py`, `bench/startup.py`, `bench/growth.py growth|soak` (each with `--quick`)."
        ),
        "",
    ]
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    """Check prerequisites, run the sections, print and write the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs, for a first look")
    parser.add_argument("--only", action="append", choices=sorted(SECTIONS), help="run only this section")
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help=f"where to write the report (default {DEFAULT_OUTPUT.relative_to(REPO)}; "
        "with --only, standard output only)",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write every row's raw data here")
    parser.add_argument("--check", action="store_true", help="exit with status 1 if a goal is missed")
    args = parser.parse_args(argv)

    missing = prerequisites()
    for item in missing:
        log(f"missing: {item}")
    if any("(required)" in item for item in missing):
        return 2
    info = machine()
    started = time.monotonic()
    date = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    results: dict[str, list[Row]] = {}
    for name in args.only or list(SECTIONS):
        results[name] = run_section(name, args.quick)
    elapsed = time.monotonic() - started
    info["load average at end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    info["load"] = (
        "the load averages count runnable processes on the 2 CPUs: above 2, other work (other test "
        "and build runs share this machine) took CPU time during the run, which moves absolute "
        "numbers and widens the per-round spreads; the ratios pair rounds taken side by side"
    )
    command = "python bench/run.py" + (" --quick" if args.quick else "")
    meta = {
        "command": command,
        "date": date,
        "mode": "quick run" if args.quick else "full run",
        "elapsed": f"{elapsed / 60:.1f} min",
    }
    report = render(results, info, meta)
    sys.stdout.write(report)
    output = args.output if args.output is not None else (None if args.only else DEFAULT_OUTPUT)
    if output is not None:
        output.write_text(report, encoding="utf-8")
        log(f"wrote {output}")
    if args.json is not None:
        raw = {
            "meta": meta,
            "machine": info,
            "sections": {k: [r.to_json() for r in v] for k, v in results.items()},
        }
        args.json.write_text(json.dumps(raw, indent=1), encoding="utf-8")
    failed = any(r.what == "section failed" for rows in results.values() for r in rows)
    missed = any(r.met is False for rows in results.values() for r in rows)
    return 1 if failed or (args.check and missed) else 0


if __name__ == "__main__":
    sys.exit(main())
