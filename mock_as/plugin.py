"""The pytest plugin: fixtures over one mock, served live or patched in-process.

Loaded through the ``pytest11`` entry point; it imports nothing heavy until a fixture is used.

| fixture            | scope    | gives                                                    |
|--------------------|----------|----------------------------------------------------------|
| mock_as_config     | session  | the :class:`MockASConfig` (override it in a conftest)    |
| mock_as_state      | session  | the one :class:`State` every transport serves            |
| mock_as_server     | session  | a running :class:`MockASServer` on 127.0.0.1             |
| mock_as            | function | that server, reset (and reconfigured by the marker)      |
| mock_as_requests   | function | the same state, ``requests`` patched in-process          |
| mock_as_httpx      | function | the same state, ``httpx`` patched in-process (extra)     |
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import pytest

from .config import ClientConfig, MockASConfig, RealmConfig, UserConfig, from_dict, merge_realms
from .configfile import ENVIRONMENT, make_config
from .errors import ConfigError
from .paths import normalise_realm

if TYPE_CHECKING:
    from .handle import MockAS
    from .server import MockASServer
    from .state import State

INI_OPTIONS = {
    "mock_as_seed": "Seed for the mock's users and tokens (default 0).",
    "mock_as_users": "Seeded fake users per realm (default 3).",
    "mock_as_context_path": "AM's context path (default /openam).",
    "mock_as_base_url": "The URL patched in-process (default https://openam.example.com:8443/openam).",
    "mock_as_config": "A TOML file describing realms, clients, users and services.",
    "mock_as_tls": "Serve the live server over HTTPS with a throwaway CA (default false).",
    "mock_as_store": "Keep the mock's state in Redis (redis://host:port/db); default: in the test process.",
}
# Settings a marker may change for one test; the rest are fixed for the session's server.
FIXED_SETTINGS = frozenset(
    {"host", "port", "context_path", "tls", "tls_ca", "store", "store_namespace", "store_timeout"}
)
MARKER_EXTRAS = frozenset(
    {"access_token_lifetime", "refresh_token_lifetime", "extra_users", "extra_clients", "realm"}
)


def pytest_addoption(parser: pytest.Parser) -> None:
    for name, help_text in INI_OPTIONS.items():
        parser.addini(name, help_text, default=None)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "mock_as(**settings): per-test settings of the mock-as authorization server "
        "(seed, users, realms, access_token_lifetime, extra_users, extra_clients …).",
    )


def build_config(ini: Mapping[str, str | None], environ: Mapping[str, str]) -> MockASConfig:
    """The suite's :class:`MockASConfig`: ini options, then ``MOCK_AS_*`` environment variables,
    then the configuration file (``mock_as_config`` / ``MOCK_AS_CONFIG``), then defaults (seed 0)."""
    from_ini: dict[str, Any] = {}
    for key, raw in ini.items():
        name, kind, what = ENVIRONMENT["MOCK_AS_" + key.removeprefix("mock_as_").upper()]
        if raw:
            try:
                from_ini[name] = kind(raw)
            except ValueError:
                raise ConfigError(f"ini option {key}={raw!r}: expected {what}") from None
    config = make_config(environ=environ, **from_ini)
    if config.seed is None:
        config = dataclasses.replace(config, seed=0)
    if config.store is not None and config.store_namespace is None:
        config = dataclasses.replace(config, store_namespace=run_namespace(environ))
    return config


def run_namespace(environ: Mapping[str, str]) -> str:
    """The store namespace of this test run and pytest-xdist worker: ``pytest-<run>-<worker>``, so
    two runs, or two workers of one run, never share keys (``MOCK_AS_STORE_NAMESPACE`` shares one
    on purpose)."""
    run = environ.get("PYTEST_XDIST_TESTRUNUID") or _RUN
    return f"pytest-{run}-{environ.get('PYTEST_XDIST_WORKER', 'main')}"


_RUN = os.urandom(6).hex()


def apply_marker(config: MockASConfig, kwargs: Mapping[str, Any]) -> MockASConfig:
    """``config`` with a ``@pytest.mark.mock_as(...)``'s settings applied, checked by the models;
    a problem is a :class:`ConfigError` naming the marker's key."""
    try:
        return _apply_marker(config, kwargs)
    except ConfigError as e:
        raise ConfigError(f"mock_as marker: {e}") from None


def _apply_marker(config: MockASConfig, kwargs: Mapping[str, Any]) -> MockASConfig:
    fixed = FIXED_SETTINGS & kwargs.keys()
    if fixed:
        raise ConfigError(f"cannot change {sorted(fixed)} (fixed for the session)")
    fields = {f.name for f in dataclasses.fields(MockASConfig)}
    unknown = set(kwargs) - fields - MARKER_EXTRAS
    if unknown:
        raise ConfigError(f"unknown setting(s) {sorted(unknown)}")
    plain = {k: v for k, v in kwargs.items() if k in fields}
    if "realms" in plain:
        listed = plain["realms"]
        if not isinstance(listed, list | tuple):
            raise ConfigError(f"realms: expected a list, got {listed!r}")
        given = tuple(_as(RealmConfig, r, f"realms[{i}]") for i, r in enumerate(listed))
        defaults = plain.get("defaults", config.defaults)
        plain["realms"] = merge_realms(config.realms, given) if defaults else given
    config = dataclasses.replace(config, **plain)
    target = kwargs.get("realm", "/")
    if not isinstance(target, str):
        raise ConfigError(f"realm: expected a realm name, got {target!r}")
    realm_changes: dict[str, Any] = {
        k: kwargs[k] for k in ("access_token_lifetime", "refresh_token_lifetime") if k in kwargs
    }
    extra_users = tuple(_user(u, f"extra_users[{i}]") for i, u in enumerate(_listed(kwargs, "extra_users")))
    extra_clients = tuple(
        _as(ClientConfig, c, f"extra_clients[{i}]") for i, c in enumerate(_listed(kwargs, "extra_clients"))
    )
    target = normalise_realm(target)
    names = [r.name for r in config.realms]
    if "realm" in kwargs and target not in names:
        raise ConfigError(f"realm: {kwargs['realm']!r} does not exist; known: {', '.join(sorted(names))}")
    if realm_changes or extra_users or extra_clients:
        realms: list[RealmConfig] = []
        for realm in config.realms:
            realm = dataclasses.replace(realm, **realm_changes)
            if realm.name == target:
                realm = realm.merged(dataclasses.replace(realm, users=extra_users, clients=extra_clients))
            realms.append(realm)
        config = dataclasses.replace(config, realms=tuple(realms))
    return config


def _listed(kwargs: Mapping[str, Any], key: str) -> tuple[Any, ...]:
    value = kwargs.get(key, ())
    if not isinstance(value, list | tuple):
        raise ConfigError(f"{key}: expected a list, got {value!r}")
    return tuple(value)


def _as(cls: type[Any], value: Any, path: str) -> Any:
    if isinstance(value, cls):
        return value
    if isinstance(value, Mapping):
        return from_dict(cls, value, path)
    raise ConfigError(f"{path}: expected a {cls.__name__} or a dict, got {value!r}")


def _user(value: Any, path: str) -> UserConfig:
    """A marker's user: a :class:`UserConfig`, or a dict taking attributes as ``add_user`` does."""
    if isinstance(value, UserConfig):
        return value
    if not isinstance(value, Mapping):
        raise ConfigError(f"{path}: expected a UserConfig or a dict, got {value!r}")
    data = dict(value)
    try:
        for key in ("username", "password"):
            if key not in data:
                raise ConfigError(f"missing required key {key!r}")
        return UserConfig.of(data.pop("username"), data.pop("password"), **data)
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}" if str(e).startswith("missing") else f"{path}.{e}") from None
    except TypeError as e:
        raise ConfigError(f"{path}: {e}") from None


def _test_config(request: pytest.FixtureRequest, base: MockASConfig) -> MockASConfig:
    marker = request.node.get_closest_marker("mock_as")
    return base if marker is None else apply_marker(base, marker.kwargs)


def _unfired(state: State) -> str | None:
    """What to say about the faults declared ``expected=True`` that never fired (``None``: all did)."""
    unfired = [f for f in state.faults.all() if f.expected and f.fired == 0]
    if not unfired:
        return None
    for fault in unfired:
        fault.expected = False  # reported once, even when two fixtures share the state
    described = "; ".join(f"#{f.id} ({_aim(f.as_dict())})" for f in unfired)
    return f"mock-as: expected fault(s) never fired: {described}"


def _aim(fault: Mapping[str, Any]) -> str:
    keys = ("endpoint", "realm", "client_id", "username", "grant_type")
    return ", ".join(f"{k}={fault[k]!r}" for k in keys if fault.get(k) is not None) or "any request"


def _check_expected_faults(state: State) -> None:
    message = _unfired(state)
    if message is not None:
        pytest.fail(message, pytrace=False)


@pytest.fixture(scope="session")
def mock_as_config(pytestconfig: pytest.Config) -> MockASConfig:
    """Session-scoped :class:`~mock_as.MockASConfig` for every mock-as fixture.

    Built from ini options (``mock_as_seed``, ``mock_as_users``, ``mock_as_context_path``,
    ``mock_as_base_url``, ``mock_as_config``, ``mock_as_tls``), then ``MOCK_AS_*`` environment
    variables, then the configuration file, then defaults (seed 0). Override this fixture in a
    conftest to configure the mock in code.
    """
    ini = {name: pytestconfig.getini(name) for name in INI_OPTIONS}
    return build_config(ini, os.environ)


@pytest.fixture(scope="session")
def mock_as_state(mock_as_config: MockASConfig) -> Iterator[State]:
    """Session-scoped :class:`~mock_as.State`: the one state the live and in-process fixtures share.
    With a store (``mock_as_store`` / ``MOCK_AS_STORE``), the run's own namespace is deleted at the end."""
    from .state import State, StoreUnavailable

    state = State(mock_as_config)
    yield state
    namespace = mock_as_config.store_namespace or ""
    if (
        state.store is not None
        and namespace.startswith("pytest-")
        and "MOCK_AS_STORE_NAMESPACE" not in os.environ
    ):
        with contextlib.suppress(StoreUnavailable):
            state.store.wipe()


@pytest.fixture(scope="session")
def mock_as_server(mock_as_state: State) -> Iterator[MockASServer]:
    """Session-scoped live :class:`~mock_as.MockASServer` on 127.0.0.1 and a free port (one per
    xdist worker). Not reset between tests: use ``mock_as`` for that."""
    from .server import MockASServer

    with MockASServer(state=mock_as_state) as server:
        yield server


@pytest.fixture
def mock_as(
    request: pytest.FixtureRequest, mock_as_server: MockASServer, mock_as_config: MockASConfig
) -> Iterator[MockASServer]:
    """Function-scoped live mock: the session's server, reset to its seeded state before the test
    and configured by any ``@pytest.mark.mock_as(...)`` marker. ``mock_as.token_url`` is its
    top-level ``access_token`` URL. A fault declared ``expected=True`` that never fired fails the
    test at teardown."""
    mock_as_server.state.reconfigure(_test_config(request, mock_as_config))
    yield mock_as_server
    _check_expected_faults(mock_as_server.state)


@pytest.fixture
def mock_as_requests(
    request: pytest.FixtureRequest, mock_as_state: State, mock_as_config: MockASConfig
) -> Iterator[MockAS]:
    """Function-scoped in-process mock: ``requests`` calls to ``base_url`` (default
    ``https://openam.example.com:8443/openam``) reach the same state with no socket; other URLs fail
    with responses' connection error. Registered on responses' default mock, so ``@responses.activate``
    and ``responses.add(...)`` in the same test work alongside it."""
    import responses

    from .patching import patch_requests

    mock_as_state.reconfigure(_test_config(request, mock_as_config))
    with patch_requests(state=mock_as_state, requests_mock=responses.mock) as handle:
        if {"mock_as", "mock_as_server"} & set(request.fixturenames):
            # The same test also talks to the live server: let those calls reach its socket.
            server: MockASServer = request.getfixturevalue("mock_as_server")
            responses.mock.add_passthru(server.base_url.rsplit("/", 1)[0] + "/")
        responses.mock.start()
        try:
            yield handle
        finally:
            responses.mock.stop(allow_assert=False)
            responses.mock.reset()
    _check_expected_faults(mock_as_state)


@pytest.fixture
def mock_as_httpx(
    request: pytest.FixtureRequest, mock_as_state: State, mock_as_config: MockASConfig
) -> Iterator[MockAS]:
    """Function-scoped in-process mock for ``httpx`` (sync and async clients): calls to ``base_url``
    reach the same state with no socket; calls to the live server (``mock_as`` in the same test) go
    through to it; any other URL fails with respx's "not mocked". Needs ``pip install 'mock-as[httpx]'``."""
    try:
        import respx
    except ImportError:
        raise ConfigError("mock_as_httpx needs the httpx extra: pip install 'mock-as[httpx]'") from None
    import respx

    from .patching import patch_httpx

    mock_as_state.reconfigure(_test_config(request, mock_as_config))
    router = respx.mock(assert_all_called=False)
    if {"mock_as", "mock_as_server"} & set(request.fixturenames):
        # The same test also talks to the live server: let those calls reach its socket, while any
        # other unmatched URL still fails loudly.
        server: MockASServer = request.getfixturevalue("mock_as_server")
        router.route(url__startswith=server.base_url.rsplit("/", 1)[0] + "/").pass_through()
    with router, patch_httpx(state=mock_as_state, respx_mock=router) as handle:
        yield handle
    _check_expected_faults(mock_as_state)
