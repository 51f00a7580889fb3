"""Where settings come from: a TOML file, ``MOCK_AS_*`` environment variables and keyword
arguments, merged with one precedence for every entry point (the CLI, the fixtures, the context
managers): explicit settings, then the environment, then the configuration file, then defaults.

The file is written in the Python API's terms and checked by the same models::

    seed = 7
    [[realms]]
    name = "/"
    access_token_lifetime = 600
    [[realms.clients]]
    client_id = "myApp"
    secret = "s3cret"
    scopes = ["write"]
    grant_types = ["password", "refresh_token"]

Every problem names the file, the key's path and what is wrong, before anything starts.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .config import MockASConfig, from_dict
from .errors import ConfigError


def _flag(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(raw)


def _words(raw: str) -> tuple[str, ...]:
    """A space- or comma-separated list."""
    return tuple(raw.replace(",", " ").split())


ENVIRONMENT: dict[str, tuple[str, Callable[[str], Any], str]] = {
    "MOCK_AS_SEED": ("seed", int, "an integer"),
    "MOCK_AS_USERS": ("users", int, "an integer"),
    "MOCK_AS_CONTEXT_PATH": ("context_path", str, "a path"),
    "MOCK_AS_BASE_URL": ("base_url", str, "a URL"),
    "MOCK_AS_HOST": ("host", str, "a host"),
    "MOCK_AS_PORT": ("port", int, "an integer"),
    "MOCK_AS_TLS": ("tls", _flag, "true or false"),
    "MOCK_AS_TLS_CA": ("tls_ca", str, "a file path"),
    "MOCK_AS_CONFIG": ("config_file", str, "a file path"),
    "MOCK_AS_CONTROL_HOSTS": ("control_hosts", _words, "host names, space-separated"),
    "MOCK_AS_CONTROL_ORIGINS": ("control_origins", _words, "origins, space-separated"),
    "MOCK_AS_FAULT_DOCUMENTS": ("fault_documents", _flag, "true or false"),
    "MOCK_AS_MAX_TOKENS": ("max_tokens", int, "an integer"),
    "MOCK_AS_STORE": ("store", str, "a redis:// URL"),
    "MOCK_AS_STORE_NAMESPACE": ("store_namespace", str, "a name"),
}
"""Each ``MOCK_AS_*`` variable, the setting it gives and what it must hold."""


def load_config(path: str | Path, **overrides: Any) -> MockASConfig:
    """Read a TOML file into a :class:`MockASConfig`; keyword ``overrides`` win over the file.

    >>> load_config("mock.toml", seed=1)  # doctest: +SKIP
    """
    return config_from_dict(_read(Path(path)), source=str(path), **overrides)


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a file") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from None


def config_from_dict(data: Mapping[str, Any], *, source: str = "config", **overrides: Any) -> MockASConfig:
    """A :class:`MockASConfig` from plain data (parsed TOML or JSON); problems are prefixed with ``source``."""
    try:
        config: MockASConfig = from_dict(MockASConfig, data)
        return dataclasses.replace(config, **overrides) if overrides else config
    except ConfigError as e:
        raise ConfigError(f"{source}: {e}") from None


def settings_from_env(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The settings the ``MOCK_AS_*`` environment variables give (``config_file`` for ``MOCK_AS_CONFIG``)."""
    environ = os.environ if environ is None else environ
    out: dict[str, Any] = {}
    for key, (name, kind, what) in ENVIRONMENT.items():
        raw = environ.get(key)
        if raw:
            try:
                out[name] = kind(raw)
            except ValueError:
                raise ConfigError(f"{key}={raw!r}: expected {what}") from None
    return out


def make_config(
    config: MockASConfig | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    fallback: Mapping[str, Any] | None = None,
    **settings: Any,
) -> MockASConfig:
    """The configuration an entry point serves: keyword ``settings`` (and ``config_file``), then the
    ``MOCK_AS_*`` environment, then ``config`` or the file ``MOCK_AS_CONFIG`` names, then defaults.

    :param config: a base configuration (takes the place of a configuration file).
    :param environ: the environment to read (``os.environ`` by default; ``{}`` ignores it).
    :param fallback: the entry point's own defaults, under the file's (the CLI's port 8080).
    """
    merged = {**settings_from_env(environ), **settings}
    known = {f.name for f in dataclasses.fields(MockASConfig)} | {"config_file"}
    unknown = sorted(set(merged) - known)
    if unknown:
        raise ConfigError(f"unknown setting(s) {unknown}; known: {sorted(known)}")
    config_file = merged.pop("config_file", None)
    if config is None:
        if config_file:
            config = config_from_dict({**(fallback or {}), **_read(Path(config_file))}, source=config_file)
        else:
            config = from_dict(MockASConfig, dict(fallback or {}))
    elif config_file:
        raise ConfigError("pass a config or a configuration file, not both")
    try:
        return dataclasses.replace(config, **merged) if merged else config
    except ConfigError as e:
        if config_file:
            raise ConfigError(f"{config_file}: {e}") from None
        raise
