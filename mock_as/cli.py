"""``mock-as``: the mock as a standalone server on localhost, for suites in any language and for people."""

from __future__ import annotations

import dataclasses
import signal
import sys
from typing import Any

import click

from . import __version__
from .config import DOCUMENTED_REQUEST, MockASConfig
from .errors import ConfigError
from .paths import realm_path

DEFAULTS = MockASConfig()
DEFAULT_PORT = 8080  # AM's documented HTTP port


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mock-as")
def main() -> None:
    """A test double of ForgeRock AM's OAuth 2.0 authorization server. Not for production."""


@main.command()
@click.option("-H", "--host", default=DEFAULTS.host, show_default=True, help="Address to bind.")
@click.option(
    "-p",
    "--port",
    type=int,
    default=DEFAULT_PORT,
    show_default=True,
    envvar="MOCK_AS_PORT",
    help="Port to bind (0 picks a free one). Env: MOCK_AS_PORT.",
)
@click.option("--context-path", default=None, help=f"AM's context path.  [default: {DEFAULTS.context_path}]")
@click.option(
    "--seed", type=int, default=None, help="Fixes users and tokens; a random one is printed if unset."
)
@click.option(
    "--users",
    type=click.IntRange(0, 10_000),
    default=None,
    help=f"Seeded fake users per realm.  [default: {DEFAULTS.users}]",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="TOML file of realms, clients, users, services and lifetimes.",
)
@click.option("--threads", type=click.IntRange(1, 64), default=4, show_default=True, help="Worker threads.")
@click.option(
    "--control-host",
    "control_hosts",
    multiple=True,
    envvar="MOCK_AS_CONTROL_HOSTS",
    help="A Host name (or name:port, or *) the control API answers besides loopback ones; repeatable. "
    "Env: MOCK_AS_CONTROL_HOSTS (space-separated).",
)
@click.option(
    "--control-origin",
    "control_origins",
    multiple=True,
    envvar="MOCK_AS_CONTROL_ORIGINS",
    help="A browser origin (http://localhost:3000, or *) that may call the control API; repeatable. "
    "Env: MOCK_AS_CONTROL_ORIGINS (space-separated).",
)
@click.option(
    "--fault-documents",
    is_flag=True,
    default=None,
    help="Let faults serve HTML and other types browsers render (sent with a script-blocking CSP).",
)
@click.option(
    "--max-tokens",
    type=click.IntRange(1),
    default=None,
    help=f"Live tokens kept; the oldest go first.  [default: {DEFAULTS.max_tokens:,}]",
)
@click.option(
    "--store",
    default=None,
    envvar="MOCK_AS_STORE",
    help="Keep the state in Redis (redis://host:port/db), shared by every process and host that names "
    "it. Env: MOCK_AS_STORE.",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    envvar="MOCK_AS_WORKERS",
    help="Processes serving the one port (SO_REUSEPORT); more than 1 needs --store. Env: MOCK_AS_WORKERS.",
)
@click.option("--reuse-port", is_flag=True, hidden=True, help="Bind with SO_REUSEPORT (one of --workers).")
@click.option("-q", "--quiet", is_flag=True, help="Print only the base URL.")
def serve(
    host: str,
    port: int,
    context_path: str | None,
    seed: int | None,
    users: int | None,
    config_file: str | None,
    threads: int,
    control_hosts: tuple[str, ...],
    control_origins: tuple[str, ...],
    fault_documents: bool | None,
    max_tokens: int | None,
    store: str | None,
    workers: int,
    reuse_port: bool,
    quiet: bool,
) -> None:
    """Serve the mock until Ctrl-C or SIGTERM."""
    from .state import State, StoreUnavailable

    overrides: dict[str, Any] = {"host": host, "port": port}
    if store:
        overrides["store"] = store
    if control_hosts:
        overrides["control_hosts"] = tuple(control_hosts)
    if control_origins:
        overrides["control_origins"] = tuple(control_origins)
    if fault_documents:
        overrides["fault_documents"] = True
    if max_tokens is not None:
        overrides["max_tokens"] = max_tokens
    if context_path is not None:
        overrides["context_path"] = "/" + context_path.strip("/") if context_path.strip("/") else ""
    if seed is not None:
        overrides["seed"] = seed
    if users is not None:
        overrides["users"] = users
    try:
        if config_file is not None:
            from .configfile import load_config

            config = load_config(config_file, **overrides)
        else:
            config = MockASConfig(**overrides)
        if workers > 1 and config.store is None:
            raise ConfigError(
                f"--workers {workers} needs a shared store, or each process would keep its own tokens "
                "and users: add --store redis://127.0.0.1:6379/0 (or MOCK_AS_STORE, or store = … in "
                "the config file)"
            )
        if workers > 1 and config.seed is None:
            import secrets

            config = dataclasses.replace(config, seed=secrets.randbits(63))  # one seed for them all
        state = State(config)
    except ConfigError as e:
        raise click.ClickException(str(e)) from e
    except StoreUnavailable as e:
        raise click.ClickException(f"store {config.store}: {e}") from e

    if workers > 1:
        from .workers import run_workers

        params = dict(click.get_current_context().params, seed=state.seed)
        try:
            status = run_workers(state, params, workers, quiet=quiet, banner=banner)
        except OSError as e:
            raise click.ClickException(f"cannot listen on {config.host}:{config.port}: {e.strerror}") from e
        raise SystemExit(status)

    from .server import exposure_warning, listening_url, make_wsgi_server

    try:
        shared_port: dict[str, Any] = {"reuse_port": True} if reuse_port else {}  # one of --workers
        server = make_wsgi_server(state, config.host, config.port, threads=threads, **shared_port)
    except OSError as e:
        raise click.ClickException(f"cannot listen on {config.host}:{config.port}: {e.strerror}") from e

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)  # before "ready" is printed: a caller may stop us at once
    if reuse_port:
        from .workers import stop_with_parent

        stop_with_parent()  # one of --workers: never outlive the process that started it
    base = listening_url(server, config.context_path)
    try:
        click.echo(base if quiet else banner(state, base))
        warning = exposure_warning(config.host)
        if warning is not None:
            click.echo(f"WARNING: {warning}", err=True)
        sys.stdout.flush()
        server.run()  # returns on KeyboardInterrupt, after stopping the workers
    except KeyboardInterrupt:  # stopped before the loop started
        server.task_dispatcher.shutdown()
    finally:
        server.close()
    click.echo("mock-as stopped", err=True)


def banner(state: Any, base: str) -> str:
    """What ``serve`` prints on start: where it listens, what it serves, how to reproduce the run."""
    lines = [
        f"mock-as {__version__}: ForgeRock AM OAuth 2.0 test double (not for production)",
        f"base URL   {base}",
        f"seed       {state.seed}   (repeat this run with --seed {state.seed})",
        "",
    ]
    for realm in state.realms.values():
        lines.append(
            f"realm {realm.name}   token endpoint {base}/oauth2{realm_path(realm.name)}/access_token"
        )
        for c in realm.clients.values():
            kind = "public" if c.secret is None else f"secret {c.secret}"
            lines.append(
                f"  client {c.client_id}  {kind}  scopes {' '.join(c.scopes) or '-'}  "
                f"grants {' '.join(c.grant_types)}"
            )
        for u in realm.users.values():
            lines.append(f"  user   {u.username}  password {u.password}")
    root = state.realms.get("/")
    if root is not None and "demo" in root.users and "myClient" in root.clients:
        data = " ".join(f'--data "{k}={v}"' for k, v in DOCUMENTED_REQUEST.items())
        lines += [
            "",
            "try:",
            f"  curl --request POST {data} \\",
            f"    {base}/oauth2/realms/root/access_token",
        ]
    lines += ["", "ready (Ctrl-C or SIGTERM stops it)"]
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    main()
