"""Load a :class:`MockASConfig` from TOML, in the same terms as the Python API.

Every problem is reported with the file, the key's path and what is wrong, before anything starts::

    seed = 7
    [[realms]]
    name = "/"
    access_token_lifetime = 600
    [[realms.clients]]
    client_id = "myClient"
    secret = "forgerock"
    scopes = ["write"]
    default_scopes = ["write"]
    [[realms.users]]
    username = "demo"
    password = "Ch4ng31t"
    attributes = { mail = "demo@example.com" }
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, Union

from .config import MockASConfig
from .errors import ConfigError


def load_config(path: str | Path, **overrides: Any) -> MockASConfig:
    """Read a TOML file into a :class:`MockASConfig`; keyword ``overrides`` win over the file."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from None
    return config_from_dict(data, source=str(path), **overrides)


def config_from_dict(data: Mapping[str, Any], *, source: str = "config", **overrides: Any) -> MockASConfig:
    """A :class:`MockASConfig` from plain data (parsed TOML or JSON)."""
    try:
        config: MockASConfig = _build(MockASConfig, data, "")
    except ConfigError as e:
        raise ConfigError(f"{source}: {e}") from None
    return dataclasses.replace(config, **overrides) if overrides else config


def _build(cls: type[Any], data: Any, path: str) -> Any:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path or 'top level'}: expected a table, got {_kind(data)}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        where = f"{path}." if path else ""
        raise ConfigError(f"{where}{unknown[0]}: unknown key (expected one of {', '.join(sorted(fields))})")
    kwargs = {}
    for name, value in data.items():
        kwargs[name] = _convert(hints[name], value, f"{path}.{name}" if path else name)
    required = [
        n
        for n, f in fields.items()
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING and n not in kwargs
    ]
    if required:
        raise ConfigError(f"{path or 'top level'}: missing required key {required[0]!r}")
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{path or 'top level'}: {e}") from None


def _kind(value: Any) -> str:
    return {dict: "a table", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


def _convert(hint: Any, value: Any, path: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(arg, value, path)
            except ConfigError as e:
                errors.append(str(e))
        raise ConfigError(errors[0] if len(errors) == 1 else f"{path}: unexpected {_kind(value)}")
    if origin is Literal:
        if value not in args:
            raise ConfigError(f"{path}: {value!r} is not one of {', '.join(map(repr, args))}")
        return value
    if origin is tuple:
        if not isinstance(value, list):
            raise ConfigError(f"{path}: expected an array, got {_kind(value)}")
        return tuple(_convert(args[0], item, f"{path}[{i}]") for i, item in enumerate(value))
    if origin in (Mapping, dict) or hint is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{path}: expected a table, got {_kind(value)}")
        return {str(k): _convert(args[1], v, f"{path}.{k}") for k, v in value.items()}
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, path)  # type: ignore[arg-type]
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{path}: expected true or false, got {_kind(value)}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{path}: expected an integer, got {_kind(value)}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{path}: expected a number, got {_kind(value)}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{path}: expected a string, got {_kind(value)}")
        return value
    raise ConfigError(f"{path}: cannot read a value of type {hint!r}")  # pragma: no cover
