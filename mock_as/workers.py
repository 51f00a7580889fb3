"""``mock-as serve --workers N``: N server processes on one port, one state in a shared store.

Each worker is the same waitress server ``mock-as serve`` runs alone (same HTTP behaviour, same
dropped-connection faults, same limits), bound with ``SO_REUSEPORT`` so the kernel spreads new
connections across them. This process holds the port, starts the workers, prints the banner once
they listen, and stops them all on Ctrl-C or SIGTERM (or when one of them dies).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import click

from .server import exposure_warning, reuse_port_socket
from .state import State

STARTUP_TIMEOUT = 30.0
"""Seconds a worker has to print its URL (it imports the package and joins the store first)."""


def stop_with_parent(interval: float = 0.5) -> None:
    """In a worker: SIGTERM this process once the process that started it is gone (killed with
    SIGKILL, it could not stop its workers itself)."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="mock-as-parent-watch", daemon=True).start()


def worker_argv(params: Mapping[str, Any], port: int) -> list[str]:
    """The command line of one worker: ``serve``'s options as given, on ``port``, one process."""
    argv = [sys.executable, "-m", "mock_as", "serve", "--workers", "1", "--reuse-port", "-q"]
    argv += ["--host", str(params["host"]), "--port", str(port), "--seed", str(params["seed"])]
    argv += ["--threads", str(params["threads"]), "--store", str(params["store"])]
    for name in ("context_path", "users", "config_file", "max_tokens"):
        if params.get(name) is not None:
            argv += ["--" + name.replace("_", "-"), str(params[name])]
    for value in params.get("control_hosts") or ():
        argv += ["--control-host", value]
    for value in params.get("control_origins") or ():
        argv += ["--control-origin", value]
    if params.get("fault_documents"):
        argv.append("--fault-documents")
    return argv


def run_workers(
    state: State,
    params: Mapping[str, Any],
    workers: int,
    *,
    quiet: bool,
    banner: Callable[[Any, str], str],
) -> int:
    """Serve with ``workers`` processes until Ctrl-C or SIGTERM; the exit status."""
    config = state.config
    holder = reuse_port_socket(config.host, config.port)  # fixes the port (0: a free one) for all
    port = int(holder.getsockname()[1])
    argv = worker_argv({**params, "store": config.store}, port)
    children: list[subprocess.Popen[str]] = []

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        for _ in range(workers):
            children.append(
                subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
            )
        base = ""
        deadline = time.monotonic() + STARTUP_TIMEOUT
        for child in children:
            assert child.stdout is not None
            base = child.stdout.readline().strip()
            if not base or time.monotonic() > deadline:
                click.echo(f"mock-as: a worker did not start (exit status {child.poll()})", err=True)
                return 1
        click.echo(base if quiet else banner(state, base).replace("ready", f"ready, {workers} workers", 1))
        warning = exposure_warning(config.host)
        if warning is not None:
            click.echo(f"WARNING: {warning}", err=True)
        sys.stdout.flush()
        while all(child.poll() is None for child in children):
            time.sleep(0.2)
        click.echo("mock-as: a worker stopped; stopping the others", err=True)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait(5)
            if child.stdout is not None:
                with contextlib.suppress(OSError):
                    child.stdout.close()
        holder.close()
        click.echo("mock-as stopped", err=True)
