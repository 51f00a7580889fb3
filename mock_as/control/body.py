"""Reading a control API request: its strict JSON body, its keys, the realm it names."""

from __future__ import annotations

import json
import sys
import typing
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from flask import current_app, request

from ..control_guard import too_deep
from ..errors import ConfigError

if TYPE_CHECKING:
    from ..state import Realm, State


class ControlError(Exception):
    """An answer in the control API's error format."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description


def bad(description: str) -> ControlError:
    """400 ``invalid_request``."""
    return ControlError(400, "invalid_request", description)


def missing(description: str) -> ControlError:
    """404 ``not_found``."""
    return ControlError(404, "not_found", description)


def conflict(description: str) -> ControlError:
    """409 ``conflict``: it exists already."""
    return ControlError(409, "conflict", description)


def state() -> State:
    """The state this app serves."""
    found: State = current_app.extensions["mock_as"]
    return found


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"the number {text} is too large for a 64-bit float")
    return value


def _integer(text: str) -> int:
    value = int(text)
    if abs(value) > sys.float_info.max:
        raise ValueError(f"the number {text[:12]}… is too large for a 64-bit float")
    return value


def body() -> dict[str, Any]:
    """The JSON object sent (as ``application/json``, see :mod:`mock_as.control_guard`); no body is
    ``{}``.

    Strict JSON: ``NaN`` and ``Infinity`` are refused, numbers must fit a 64-bit float, and text
    must be Unicode (no lone surrogate escapes), so whatever is stored can be answered as JSON."""
    raw = request.get_data(cache=True)
    if not raw:
        return {}
    if too_deep(raw):
        raise bad("the body is not valid JSON for this API: it nests too deeply")
    try:
        data = json.loads(raw, parse_constant=_not_json, parse_float=_finite, parse_int=_integer)
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise bad("the body is not valid JSON: it escapes a lone surrogate, which is not text") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise bad(f"the body is not valid JSON: {e}") from None
    if not isinstance(data, dict):
        raise bad("the body must be a JSON object")
    return data


def whole(value: Any) -> Any:
    """An integral float as an int (JSON Schema counts ``3.0`` as an integer); anything else as is."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def whole_numbers(cls: type[Any], data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` with every integral float turned into an int where ``cls`` takes an integer."""
    hints = typing.get_type_hints(cls)

    def takes_int(hint: Any) -> bool:
        return hint is int or int in typing.get_args(hint)

    return {k: whole(v) if takes_int(hints.get(k)) else v for k, v in data.items()}


def only(data: Mapping[str, Any], allowed: tuple[str, ...] | frozenset[str], what: str) -> None:
    """Refuse keys outside ``allowed``, naming the first."""
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise bad(f"{unknown[0]}: unknown key for {what} (expected one of {', '.join(sorted(allowed))})")


def realm() -> Realm:
    """The realm of the ``realm`` query parameter (``/`` by default)."""
    name = request.args.get("realm", "/")
    try:
        return state().realm(name)
    except ConfigError:
        raise missing(f"no realm {name!r}; known: {', '.join(sorted(state().realms))}") from None
