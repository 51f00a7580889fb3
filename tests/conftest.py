"""Shared fixtures: most behaviour tests run over both transports through ``am``."""

from __future__ import annotations

import pytest

from mock_as import MockAS

# Browser (Playwright + Chromium), static-site and Redis fixtures, shared by every test module.
from .support.browser import browser, page, static_site  # noqa: F401
from .support.ci import (  # noqa: F401 - CI's guard that required browser/Redis tests really ran
    pytest_collection_modifyitems,
    pytest_runtest_logreport,
    pytest_sessionfinish,
)
from .support.redis import redis_server  # noqa: F401


@pytest.fixture(params=["live", "inprocess"])
def am(request: pytest.FixtureRequest) -> MockAS:
    """The mock over a real socket (``live``) or patched into ``requests`` (``inprocess``)."""
    return request.getfixturevalue("mock_as" if request.param == "live" else "mock_as_requests")


# -- fuzz budgets ---------------------------------------------------------------------------------
# Property-based tests run under a named hypothesis profile: "ci" (the default, a bounded budget
# that every run of the suite pays) or "long" (HYPOTHESIS_PROFILE=long, for a deliberate search).
# No deadline: a loaded CI machine must not turn a slow example into a failure.

import contextlib
import os
import warnings

from hypothesis import HealthCheck, settings

with warnings.catch_warnings(), contextlib.suppress(ImportError):
    # On a failure hypothesis suggests an @example patch made with libcst, whose import warns
    # (mypy_extensions.TypedDict); under filterwarnings=error that warning would hide the failure.
    warnings.simplefilter("ignore", DeprecationWarning)
    import hypothesis.extra._patching  # noqa: F401

settings.register_profile(
    "ci",
    max_examples=100,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "long",
    max_examples=3000,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
