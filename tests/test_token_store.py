"""The compact token store gives back every token field for field, and purges expired ones."""

from __future__ import annotations

import gc

import pytest

from mock_as import MockASConfig, State
from mock_as.state import Token, TokenStore

ISSUED = 1_700_000_000.25


def token(**changes: object) -> Token:
    fields: dict[str, object] = {
        "id": "eDIKrK_uei_9FfwSabrF8FxwsA8",
        "kind": "access_token",
        "realm": "/",
        "client_id": "myClient",
        "username": "demo",
        "scopes": ("write",),
        "grant_type": "password",
        "issued_at": ISSUED,
        "expires_at": ISSUED + 3600,
        "auth_grant_id": "hC22vb1FnrX2qD0bH3ZVLiLbM5s",
        "audit_id": "bd9038c9-71a1-4663-92ca-74061e2b6b14",
    }
    fields.update(changes)
    return Token(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "stored",
    [
        token(),
        token(expires_at=None),
        token(auth_grant_id="not-a-token-id"),
        token(auth_grant_id="hC22vb1FnrX2qD0bH3ZVLiLbM5t"),  # 27 characters, not a canonical encoding
        token(audit_id="BD9038C9-71A1-4663-92CA-74061E2B6B14"),
        token(audit_id="bd9038c9x71a1-4663-92ca-74061e2b6b14"),
        token(issued_at=1_700_000_000, expires_at=1_700_003_600),
        token(issued_at=0.1, expires_at=0.30000000000000004),
        token(scopes=(), username="", realm="/customers/eu"),
    ],
)
def test_a_stored_token_reads_back_field_for_field(stored):
    store = TokenStore()
    store[stored.id] = stored
    got = store[stored.id]
    assert got == stored
    assert [type(a) for a in got] == [type(b) for b in stored]
    assert store.get("other") is None
    assert list(store) == [stored.id]


def test_issued_tokens_read_back_and_their_rows_leave_the_garbage_collector():
    state = State(MockASConfig(seed=3, clock_start=ISSUED))
    issued = [
        state.issue(
            kind="access_token",
            realm="/",
            client_id="myClient",
            username=f"user{i % 3}",
            scopes=("write",),
            grant_type="password",
            lifetime=60,
        )
        for i in range(50)
    ]
    assert [state.tokens[t.id] for t in issued] == issued
    gc.collect()
    gc.collect()  # a row is let go once the shared tuple it points to has been
    assert not any(gc.is_tracked(row) for row in state.tokens.rows())


def test_expired_tokens_are_purged_as_new_ones_are_issued():
    state = State(MockASConfig(seed=3, clock_start=ISSUED))

    def issue(lifetime: float) -> Token:
        return state.issue(
            kind="access_token",
            realm="/",
            client_id="myClient",
            username="demo",
            scopes=("write",),
            grant_type="password",
            lifetime=lifetime,
        )

    short = [issue(10) for _ in range(3)]
    forever = issue(-1)
    revoked = issue(10)
    state.revoke(revoked.id)
    state.clock.advance(10)
    kept = issue(10)
    assert set(state.tokens) == {forever.id, kept.id}
    assert all(state.find(t.id) is None for t in short)
    assert state.tokens.queued() == 1  # only the live expiring token is left in a queue


def test_a_token_of_an_existing_grant_reads_back_with_that_grant():
    state = State(MockASConfig(seed=3, clock_start=ISSUED))
    common = {"realm": "/", "client_id": "myClient", "username": "demo", "scopes": ("write",)}
    access = state.issue(kind="access_token", grant_type="password", lifetime=60, **common)  # type: ignore[arg-type]
    refresh = state.issue(
        kind="refresh_token",
        grant_type="password",
        lifetime=-1,
        auth_grant_id=access.auth_grant_id,
        **common,  # type: ignore[arg-type]
    )
    assert state.tokens[refresh.id].auth_grant_id == access.auth_grant_id
    assert state.revoke_grant(access.auth_grant_id) == 2


def test_the_store_lists_tokens_in_issue_order_and_keeps_each_table_small():
    """The map is spread over shards by hash, yet listing follows the issue order (a frozen clock
    gives every token the same instant), a token stored again keeps its place, and no shard's
    table grows with the whole store."""
    store = TokenStore()
    ids = [f"id{i:04d}" for i in range(2000)]
    odd = {5, 17}  # kept whole as tuples: an audit id the packed row cannot hold
    for i, token_id in enumerate(ids):
        store[token_id] = token(id=token_id, audit_id="not-a-uuid" if i in odd else token().audit_id)
    del store[ids[1]]
    store[ids[3]] = token(id=ids[3], username="again")
    expected = [i for i in ids if i != ids[1]]
    assert list(store) == expected
    assert [t.id for t in store.values()] == expected
    assert store[ids[3]].username == "again"
    assert len(store) == 1999
    biggest = max(__import__("sys").getsizeof(shard) for shard in store._shards)
    assert biggest * 8 < store.table_bytes()  # the tokens are spread, no table holds them all
    store.clear()
    assert (len(store), list(store)) == (0, [])


def test_the_control_api_lists_tokens_in_issue_order_on_a_frozen_clock(mock_as):
    import requests

    from tests.helpers import DOCS_FORM

    mock_as.clock.freeze()
    issued = [requests.post(mock_as.token_url, data=DOCS_FORM).json()["access_token"] for _ in range(30)]
    listed = requests.get(mock_as.control_url + "/tokens").json()
    assert [t["id"] for t in listed] == issued
