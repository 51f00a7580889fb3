"""The mock's control API under ``/__mock_as__/``: reset, users, clients, clock, faults, journal."""

from __future__ import annotations

from flask import Blueprint

control_api = Blueprint("mock_as_control", __name__, url_prefix="/__mock_as__")
