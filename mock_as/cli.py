"""``mock-as``: the mock as a standalone server on localhost, for suites in any language and for people."""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import click

from . import __version__
from .config import DOCUMENTED_REQUEST, MockASConfig
from .configfile import make_config
from .errors import ConfigError
from .paths import control_url, realm_path
from .server import exposure_warning, listening_url, make_wsgi_server
from .state import State
from .store import StoreUnavailable

if TYPE_CHECKING:
    from .tls import TLSFront

DEFAULTS = MockASConfig()
DEFAULT_PORT = 8080  # AM's documented HTTP port


class BadSetting(click.ClickException):
    """A setting that cannot work: one line on stderr, exit status 2 (a usage error)."""

    exit_code = 2


class _Integer(click.ParamType[int]):
    """An integer, or one line naming the option (click's own error would print the usage too)."""

    name = "integer"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        try:
            return int(value)
        except ValueError:
            option = param.opts[-1] if param is not None else "value"
            raise BadSetting(f"{option}: expected an integer, got {value!r}") from None


INTEGER = _Integer()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mock-as")
def main() -> None:
    """A test double of ForgeRock AM's OAuth 2.0 authorization server. Not for production."""


@main.command(
    epilog="Each option can also come from its MOCK_AS_* variable; an option wins over the variable, "
    "the variable over the --config file, the file over the defaults."
)
@click.option(
    "-H", "--host", default=None, help=f"Address to bind.  [default: {DEFAULTS.host}; env: MOCK_AS_HOST]"
)
@click.option(
    "-p",
    "--port",
    type=INTEGER,
    default=None,
    help=f"Port to bind (0 picks a free one).  [default: {DEFAULT_PORT}; env: MOCK_AS_PORT]",
)
@click.option(
    "--context-path",
    default=None,
    help=f"AM's context path.  [default: {DEFAULTS.context_path}; env: MOCK_AS_CONTEXT_PATH]",
)
@click.option(
    "--seed",
    type=INTEGER,
    default=None,
    help="Fixes users and tokens; a random one is printed if unset.  [env: MOCK_AS_SEED]",
)
@click.option(
    "--users",
    type=INTEGER,
    default=None,
    help=f"Seeded fake users per realm.  [default: {DEFAULTS.users}; env: MOCK_AS_USERS]",
)
@click.option(
    "--base-url",
    default=None,
    help="The URL in-process patches answer at; the live server ignores it.  [env: MOCK_AS_BASE_URL]",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="TOML file of realms, clients, users, services and lifetimes.  [env: MOCK_AS_CONFIG]",
)
@click.option(
    "--tls/--no-tls",
    default=None,
    help="Serve HTTPS with a certificate for 127.0.0.1 and localhost from a throwaway CA.  [env: MOCK_AS_TLS]",
)
@click.option(
    "--tls-ca",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write that CA's certificate (PEM) here, for clients to trust; implies --tls.  [env: MOCK_AS_TLS_CA]",
)
@click.option("--threads", type=click.IntRange(1, 64), default=4, show_default=True, help="Worker threads.")
@click.option(
    "--control-host",
    "control_hosts",
    multiple=True,
    help="A Host name (or name:port, or *) the control API answers besides loopback ones; repeatable.  "
    "[env: MOCK_AS_CONTROL_HOSTS, space-separated]",
)
@click.option(
    "--control-origin",
    "control_origins",
    multiple=True,
    help="A browser origin (http://localhost:3000, or *) that may call the control API; repeatable.  "
    "[env: MOCK_AS_CONTROL_ORIGINS, space-separated]",
)
@click.option(
    "--fault-documents",
    is_flag=True,
    default=None,
    help="Let faults serve HTML and other types browsers render (sent with a script-blocking CSP).  "
    "[env: MOCK_AS_FAULT_DOCUMENTS]",
)
@click.option(
    "--max-tokens",
    type=click.IntRange(1),
    default=None,
    help=f"Live tokens kept; the oldest go first.  [default: {DEFAULTS.max_tokens:,}; env: MOCK_AS_MAX_TOKENS]",
)
@click.option(
    "--store",
    default=None,
    help="Keep the state in Redis (redis://host:port/db), shared by every process and host that names "
    "it.  [env: MOCK_AS_STORE; MOCK_AS_STORE_NAMESPACE names its key namespace]",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    envvar="MOCK_AS_WORKERS",
    help="Processes serving the one port (SO_REUSEPORT); more than 1 needs --store.  [env: MOCK_AS_WORKERS]",
)
@click.option("--reuse-port", is_flag=True, hidden=True, help="Bind with SO_REUSEPORT (one of --workers).")
@click.option("-q", "--quiet", is_flag=True, help="Print only the base URL.")
def serve(threads: int, quiet: bool, workers: int, reuse_port: bool, **options: Any) -> None:
    """Serve the mock until Ctrl-C or SIGTERM."""
    config = cli_config(options, os.environ)
    if workers > 1 and config.store is None:
        raise BadSetting(
            f"--workers {workers} needs a shared store, or each process would keep its own tokens "
            "and users: add --store redis://127.0.0.1:6379/0 (or MOCK_AS_STORE, or store = … in "
            "the config file)"
        )
    if workers > 1 and config.seed is None:
        import secrets

        config = dataclasses.replace(config, seed=secrets.randbits(63))  # one seed for them all
    try:
        state = State(config)
    except ConfigError as e:
        raise BadSetting(str(e)) from e
    except StoreUnavailable as e:
        raise BadSetting(f"store {config.store}: {e}") from e

    if workers > 1:
        from .workers import run_workers

        params = {
            "host": config.host,
            "port": config.port,
            "seed": state.seed,
            "threads": threads,
            "store": config.store,
            "context_path": config.context_path,
            "users": config.users,
            "config_file": options.get("config_file"),
            "max_tokens": config.max_tokens,
            "control_hosts": config.control_hosts,
            "control_origins": config.control_origins,
            "fault_documents": config.fault_documents,
        }
        try:
            status = run_workers(state, params, workers, quiet=quiet, banner=banner)
        except OSError as e:
            raise BadSetting(f"cannot listen on {config.host} port {config.port}: {e.strerror}") from e
        raise SystemExit(status)

    try:
        server, base, ca_path, tls = listen(state, threads, reuse_port=reuse_port)
    except ConfigError as e:
        raise BadSetting(str(e)) from e
    except (OSError, OverflowError, UnicodeError, ValueError) as e:
        reason = getattr(e, "strerror", None) or str(e)
        raise BadSetting(f"cannot listen on {config.host} port {config.port}: {reason}") from e

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)  # before "ready" is printed: a caller may stop us at once
    if reuse_port:
        from .workers import stop_with_parent

        stop_with_parent()  # one of --workers: never outlive the process that started it
    try:
        click.echo(base if quiet else banner(state, base, ca_path))
        warning = exposure_warning(config.host)
        if warning is not None:
            click.echo(f"WARNING: {warning}", err=True)
        sys.stdout.flush()
        server.run()  # returns on KeyboardInterrupt, after stopping the workers
    except KeyboardInterrupt:  # stopped before the loop started
        server.task_dispatcher.shutdown()
    finally:
        server.close()
        if tls is not None:
            tls.close()
    click.echo("mock-as stopped", err=True)


def cli_config(options: dict[str, Any], environ: Mapping[str, str]) -> MockASConfig:
    """The configuration ``serve`` runs: its options, then ``MOCK_AS_*``, then the file, then
    defaults (port 8080 here); anything wrong is a :class:`BadSetting`."""
    given = {k: v for k, v in options.items() if v is not None and v != ()}
    try:
        return make_config(environ=environ, fallback={"port": DEFAULT_PORT}, **given)
    except ConfigError as e:
        raise BadSetting(str(e)) from e


def listen(
    state: State, threads: int, *, reuse_port: bool = False
) -> tuple[Any, str, str | None, TLSFront | None]:
    """Bind the server ``state.config`` asks for: waitress, behind a TLS front with ``tls``;
    ``reuse_port`` shares the port with the other processes of ``--workers``."""
    config = state.config
    if not config.tls:
        try:
            server = make_wsgi_server(state, config.host, config.port, threads=threads, reuse_port=reuse_port)
        except ValueError:  # waitress's word for a host it cannot resolve: say why
            socket.getaddrinfo(config.host, config.port, type=socket.SOCK_STREAM)
            raise
        return server, listening_url(server, config.context_path), None, None
    from .tls import TLSFront

    server = make_wsgi_server(state, "127.0.0.1", 0, threads=threads, url_scheme="https")
    try:
        tls = TLSFront(
            config.host, config.port, (server.effective_host, server.effective_port), config.tls_ca
        )
    except BaseException:
        server.close()
        raise
    tls.start()
    return server, tls.url(config.context_path), tls.ca_path, tls


def banner(state: Any, base: str, ca_path: str | None = None) -> str:
    """What ``serve`` prints on start: where it listens, what it serves, how to reproduce the run."""
    lines = [
        f"mock-as {__version__}: ForgeRock AM OAuth 2.0 test double (not for production)",
        f"base URL   {base}",
        f"seed       {state.seed}   (repeat this run with --seed {state.seed})",
        f"inspector  {control_url(base, state.config.context_path)}/ui   (open it in a browser)",
        "",
    ]
    if ca_path is not None:
        lines.append(f"CA file    {ca_path}   (trust it: curl --cacert, requests verify=, httpx cafile=)")
    lines.append("")
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
        cacert = f"--cacert {ca_path} " if ca_path else ""
        lines += [
            "",
            "try:",
            f"  curl {cacert}--request POST {data} \\",
            f"    {base}/oauth2/realms/root/access_token",
        ]
    lines += ["", "ready (Ctrl-C or SIGTERM stops it)"]
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    main()
