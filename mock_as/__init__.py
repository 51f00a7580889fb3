"""mock-as: a test double of ForgeRock AM's OAuth 2.0 authorization server.

Everything public is importable from here. Heavy modules (Flask, responses) load only when first
used, so the pytest plugin costs nothing in a run that never asks for the mock.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "ClientConfig",
    "Clock",
    "ConfigError",
    "LockoutConfig",
    "LoginSession",
    "MockAS",
    "MockASConfig",
    "MockASError",
    "MockASServer",
    "RealmConfig",
    "ServiceConfig",
    "State",
    "UserConfig",
    "__version__",
    "create_app",
    "load_config",
    "patch_httpx",
    "patch_requests",
    "run_server",
]

_LAZY = {
    "ClientConfig": "config",
    "LockoutConfig": "config",
    "MockASConfig": "config",
    "RealmConfig": "config",
    "ServiceConfig": "config",
    "UserConfig": "config",
    "Clock": "clock",
    "ConfigError": "errors",
    "MockASError": "errors",
    "State": "state",
    "create_app": "app",
    "load_config": "configfile",
    "MockAS": "handle",
    "LoginSession": "sessions",
    "MockASServer": "server",
    "run_server": "server",
    "patch_requests": "patching",
    "patch_httpx": "patching",
}

if TYPE_CHECKING:
    from .app import create_app
    from .clock import Clock
    from .config import ClientConfig, LockoutConfig, MockASConfig, RealmConfig, ServiceConfig, UserConfig
    from .configfile import load_config
    from .errors import ConfigError, MockASError
    from .handle import MockAS
    from .patching import patch_httpx, patch_requests
    from .server import MockASServer, run_server
    from .sessions import LoginSession
    from .state import State


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mock_as' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
