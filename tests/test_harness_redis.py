"""The Redis harness works: a real redis-server per test, reachable through redis-py, that a test can
stop and start again on the same URL."""

from __future__ import annotations

import os

import pytest

# The client library comes with the test extra; CI (MOCK_AS_REQUIRE_REDIS=1) fails without it.
redis = (
    pytest.importorskip("redis")
    if os.environ.get("MOCK_AS_REQUIRE_REDIS", "0") == "0"
    else __import__("redis")
)


def test_redis_server_answers_and_keeps_data(redis_server):
    assert redis_server.url.startswith("redis://127.0.0.1:")
    assert redis_server.url.endswith(f":{redis_server.port}/0")
    client = redis.Redis.from_url(redis_server.url, socket_timeout=5)
    try:
        assert client.ping() is True
        assert client.set("greeting", "hello") is True
        assert client.get("greeting") == b"hello"
        assert client.config_get("save") == {"save": ""}
        assert client.config_get("appendonly") == {"appendonly": "no"}
    finally:
        client.close()


def test_redis_server_stops_and_restarts_on_the_same_url(redis_server):
    client = redis.Redis.from_url(redis_server.url, socket_timeout=5)
    try:
        client.set("k", "v")
        redis_server.kill()  # as a crash would
        assert not redis_server.running
        with pytest.raises(redis.ConnectionError):
            client.ping()
        redis_server.start()
        assert redis_server.running
        assert client.ping() is True  # the same client reconnects to the same URL
        assert client.get("k") is None  # nothing persisted: --save '' and --appendonly no
        redis_server.restart()
        assert client.ping() is True
    finally:
        client.close()
