"""CI's guard: a required harness that ran nothing fails the run.

Under ``MOCK_AS_REQUIRE_BROWSER=1`` at least one test using the ``browser`` fixture, and under
``MOCK_AS_REQUIRE_REDIS=1`` at least one using ``redis_server``, must pass. Otherwise a run whose
browser or Redis tests were all deselected or never collected would still end green.
"""

from __future__ import annotations

import os

import pytest

REQUIRED = {"MOCK_AS_REQUIRE_BROWSER": "browser", "MOCK_AS_REQUIRE_REDIS": "redis_server"}
_PROPERTY = "mock_as_harness"
_passed: set[str] = set()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tag each test with the harness fixtures it uses (the tag travels with xdist's reports)."""
    for item in items:
        for fixture in set(REQUIRED.values()) & set(getattr(item, "fixturenames", ())):
            item.user_properties.append((_PROPERTY, fixture))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Note which harness fixtures a passing test used."""
    if report.when == "call" and report.passed:
        _passed.update(value for name, value in report.user_properties if name == _PROPERTY)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Fail the run when a required harness fixture was used by no passing test."""
    if hasattr(session.config, "workerinput"):  # an xdist worker: the controller decides
        return
    missing = [
        f"{env}=1 but no passing test used `{fixture}`"
        for env, fixture in REQUIRED.items()
        if os.environ.get(env, "") not in ("", "0") and fixture not in _passed
    ]
    if missing:
        tw = session.config.get_terminal_writer()
        tw.line()
        for line in missing:
            tw.line(f"required harness did not run: {line}", red=True, bold=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
