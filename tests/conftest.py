"""Shared fixtures: most behaviour tests run over both transports through ``am``."""

from __future__ import annotations

import pytest

from mock_as import MockAS

DOCS_FORM = {
    "grant_type": "password",
    "username": "demo",
    "password": "Ch4ng31t",
    "scope": "write",
    "client_id": "myClient",
    "client_secret": "forgerock",
}


@pytest.fixture(params=["live", "inprocess"])
def am(request: pytest.FixtureRequest) -> MockAS:
    """The mock over a real socket (``live``) or patched into ``requests`` (``inprocess``)."""
    return request.getfixturevalue("mock_as" if request.param == "live" else "mock_as_requests")
