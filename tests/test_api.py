"""The public surface: every entry point takes the same settings, everything exported is documented."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

import mock_as
from mock_as import ConfigError, MockASConfig, create_app, patch_httpx, patch_requests, run_server
from mock_as.server import MockASServer

ENTRY_POINTS = [create_app, MockASServer, run_server, patch_requests, patch_httpx]


def test_everything_exported_is_documented():
    for name in mock_as.__all__:
        if name == "__version__":
            continue
        obj = getattr(mock_as, name)
        assert inspect.getdoc(obj), name


def test_public_methods_of_the_handle_are_documented():
    for name, member in inspect.getmembers(mock_as.MockAS):
        if not name.startswith("_") and (inspect.isfunction(member) or isinstance(member, property)):
            assert inspect.getdoc(member), name


@pytest.mark.parametrize("entry", ENTRY_POINTS, ids=lambda e: e.__name__)
def test_entry_points_take_a_config_and_its_fields(entry):
    params = inspect.signature(entry).parameters
    assert "config" in params
    assert any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


@pytest.mark.parametrize("entry", ENTRY_POINTS, ids=lambda e: e.__name__)
def test_entry_points_reject_unknown_settings(entry):
    def use():
        obj = entry(no_such_setting=1)
        if hasattr(obj, "__enter__"):  # the context managers check when they start
            with obj:
                pass

    with pytest.raises(ConfigError, match="unknown setting"):
        use()


def test_settings_reach_the_state():
    with patch_requests(seed=123, users=1, context_path="/am") as am:
        assert am.seed == 123
        assert len(am.users) == 2
        assert am.state.config.context_path == "/am"
    with run_server(seed=123, users=1) as live:
        assert [u.username for u in live.users] == [u.username for u in am.users]


def test_cli_options_are_config_fields():
    from click.testing import CliRunner

    from mock_as.cli import main

    help_text = CliRunner().invoke(main, ["serve", "--help"]).output
    fields = {f.name for f in dataclasses.fields(MockASConfig)}
    for option in ("host", "port", "context-path", "seed", "users"):
        assert f"--{option}" in help_text
        assert option.replace("-", "_") in fields


def test_server_misuse_is_a_clear_error():
    server = MockASServer(seed=1)
    with pytest.raises(mock_as.MockASError, match="not running"):
        _ = server.port
    with server, pytest.raises(mock_as.MockASError, match="already running"):
        server.start()
    server.stop()  # stopping twice is harmless


def test_lazy_attribute_errors():
    with pytest.raises(AttributeError):
        _ = mock_as.nothing_like_this
    assert "MockAS" in dir(mock_as)
