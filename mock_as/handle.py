"""One handle over the mock, whichever transport serves it: URLs, users, clients, clock, journal."""

from __future__ import annotations

from typing import Any

from .clock import Clock
from .config import ClientConfig, RealmConfig, UserConfig
from .endpoints import ENDPOINT_PATHS, realm_path
from .faults import Fault, Faults
from .lockout import Lockout, LockoutConfig, LockState
from .state import Call, State, Token


class MockAS:
    """What every fixture and context manager gives you.

    :param state: the mock's state.
    :param base_url: where clients reach it: ``http://127.0.0.1:<port>/openam`` live, or the patched
        ``https://openam.example.com:8443/openam`` in-process.
    """

    def __init__(self, state: State, base_url: str) -> None:
        self.state = state
        self.base_url = base_url.rstrip("/")

    def __repr__(self) -> str:
        return f"<MockAS {self.base_url} seed={self.state.seed}>"

    # -- URLs ---------------------------------------------------------------------------------

    @property
    def token_url(self) -> str:
        """The top-level realm's ``access_token`` URL, in the ``/realms/root`` form of AM's docs."""
        return self.url_for("access_token")

    def url_for(self, endpoint: str = "access_token", realm: str = "/") -> str:
        """The URL of ``endpoint`` (``access_token``, ``tokeninfo``, ``introspect``, ``revoke``,
        ``userinfo``, ``idtokeninfo``, ``openid-configuration``, ``jwk_uri``) in ``realm``."""
        if endpoint not in ENDPOINT_PATHS:
            raise ValueError(f"unknown endpoint {endpoint!r}; known: {sorted(ENDPOINT_PATHS)}")
        return f"{self.base_url}/oauth2{realm_path(realm)}/{'/'.join(ENDPOINT_PATHS[endpoint])}"

    # -- registries ---------------------------------------------------------------------------

    @property
    def seed(self) -> int:
        """The seed in force: the same seed gives the same users and tokens."""
        return self.state.seed

    @property
    def clock(self) -> Clock:
        """The clock behind issuing and validation: ``clock.advance(3600)`` expires a default token."""
        return self.state.clock

    @property
    def users(self) -> list[UserConfig]:
        """The top-level realm's users: ``demo`` first, then the seeded fake users."""
        return self.users_in("/")

    def users_in(self, realm: str) -> list[UserConfig]:
        """The users of ``realm``."""
        return list(self.state.realm(realm).users.values())

    def user(self, username: str, realm: str = "/") -> UserConfig:
        """One user, by name."""
        return self.state.realm(realm).users[username]

    @property
    def clients(self) -> list[ClientConfig]:
        """The top-level realm's clients (``myClient`` by default)."""
        return list(self.state.realm("/").clients.values())

    @property
    def realms(self) -> list[str]:
        """The realm names served."""
        return list(self.state.realms)

    def add_user(self, username: str, password: str, realm: str = "/", **attributes: Any) -> UserConfig:
        """Add a user until the next reset; keyword arguments are profile attributes (``mail=…``).

        ``status`` (``active``/``inactive``/``locked``) and ``password_expired`` set the account state."""
        status = attributes.pop("status", "active")
        expired = bool(attributes.pop("password_expired", False))
        attrs = {"uid": username, **attributes}
        return self.state.add_user(
            UserConfig(
                username=username, password=password, attributes=attrs, status=status, password_expired=expired
            ),
            realm,
        )

    def set_user(self, username: str, realm: str = "/", **changes: Any) -> UserConfig:
        """Change a user until the next reset: ``set_user("demo", status="locked")``."""
        return self.state.update_user(username, realm, **changes)

    def add_client(
        self,
        client_id: str,
        secret: str | None = None,
        *,
        scopes: tuple[str, ...] | list[str] = (),
        default_scopes: tuple[str, ...] | list[str] = (),
        grant_types: tuple[str, ...] | list[str] = ("password",),
        realm: str = "/",
        **settings: Any,
    ) -> ClientConfig:
        """Register a client until the next reset (``secret=None`` makes a public client).

        Other settings: ``token_endpoint_auth_method``, ``access_token_lifetime``,
        ``refresh_token_lifetime``, ``active``."""
        return self.state.add_client(
            ClientConfig(
                client_id=client_id,
                secret=secret,
                scopes=tuple(scopes),
                default_scopes=tuple(default_scopes),
                grant_types=tuple(grant_types),
                **settings,
            ),
            realm,
        )

    def add_realm(self, name: str, **settings: Any) -> str:
        """Add a realm until the next reset; ``settings`` are :class:`RealmConfig` fields.
        It starts with AM's documented client and ``demo`` unless ``clients``/``users`` are given."""
        from .config import DEMO_USER, DOCS_CLIENT

        settings.setdefault("clients", (DOCS_CLIENT,))
        settings.setdefault("users", (DEMO_USER,))
        return self.state.add_realm(RealmConfig(name=name, **settings)).name

    def configure_realm(self, realm: str = "/", **settings: Any) -> RealmConfig:
        """Change a realm's provider settings until the next reset: ``configure_realm(access_token_lifetime=60)``."""
        return self.state.update_realm(realm, **settings)

    # -- tokens and journal -------------------------------------------------------------------

    def token(self, token_id: str) -> Token | None:
        """The live token with that id (``None`` if unknown, revoked or expired)."""
        return self.state.find(token_id)

    @property
    def calls(self) -> list[Call]:
        """Every request the mock received since the last reset, oldest first, secrets redacted."""
        return list(self.state.journal)

    def token_calls(self, grant_type: str | None = None) -> list[Call]:
        """The ``access_token`` calls, optionally of one grant type."""
        return [
            c
            for c in self.state.journal
            if c.endpoint == "access_token" and (grant_type is None or c.grant_type == grant_type)
        ]

    def reset(self) -> None:
        """Back to the seeded starting point (users, clients, tokens, clock, journal, faults, locks)."""
        self.state.reset()

    # -- account lockout ----------------------------------------------------------------------

    def set_lockout(
        self,
        realm: str = "/",
        *,
        enabled: bool = True,
        failure_count: int = 5,
        interval_minutes: float = 300,
        duration_minutes: float = 0,
    ) -> LockoutConfig:
        """Turn on AM's login failure lockout in ``realm`` until the next reset (AM's defaults:
        5 failures within 300 minutes lock the account until an administrator unlocks it)."""
        lockout = LockoutConfig(
            enabled=enabled,
            failure_count=failure_count,
            interval_minutes=interval_minutes,
            duration_minutes=duration_minutes,
        )
        self.state.update_realm(realm, lockout=lockout)
        return lockout

    def lock_user(self, username: str, realm: str = "/") -> UserConfig:
        """Lock an account as an administrator would, until :meth:`unlock_user`."""
        return self._lockout.lock(realm, username)

    def unlock_user(self, username: str, realm: str = "/") -> UserConfig:
        """Unlock an account (locked by the lockout or by hand) and clear its failure count."""
        return self._lockout.unlock(realm, username)

    def lock_state(self, username: str, realm: str = "/") -> LockState:
        """Whether the account is locked, until when, and the failures counted so far."""
        return self._lockout.state_of(realm, username)

    @property
    def _lockout(self) -> Lockout:
        return self.state.extensions["lockout"]  # type: ignore[no-any-return]

    # -- fault injection ----------------------------------------------------------------------

    def fail(
        self,
        endpoint: str | None = None,
        *,
        realm: str | None = None,
        client_id: str | None = None,
        username: str | None = None,
        grant_type: str | None = None,
        status: int | None = None,
        error: str | None = None,
        description: str | None = None,
        body: str | bytes | dict[str, Any] | list[Any] | None = None,
        content_type: str | None = None,
        malformed: bool = False,
        empty: bool = False,
        drop: bool = False,
        delay: float = 0.0,
        retry_after: int | str | None = None,
        times: int | None = 1,
    ) -> Fault:
        """Queue a fault for the next matching request(s) to AM's surface, and return it
        (``fault.fired`` counts the hits).

        ``am.fail("access_token")`` answers the next token call 400 ``invalid_grant``;
        ``status=503``, ``retry_after=30``, ``body=…``, ``malformed=True``, ``empty=True`` or
        ``drop=True`` change the answer; ``delay=0.5`` waits first (alone, it only slows AM's own
        answer); ``times=None`` keeps it until :meth:`clear_faults`. ``realm``, ``client_id``,
        ``username`` and ``grant_type`` narrow the requests it hits. See :mod:`mock_as.faults`."""
        fault = Fault(
            endpoint=endpoint,
            realm=realm,
            client_id=client_id,
            username=username,
            grant_type=grant_type,
            status=status,
            error=error,
            description=description,
            body=body,
            content_type=content_type,
            malformed=malformed,
            empty=empty,
            drop=drop,
            delay=delay,
            retry_after=retry_after,
            times=times,
        )
        return self._faults.add(fault)

    @property
    def faults(self) -> list[Fault]:
        """The faults queued since the last reset or :meth:`clear_faults`, spent ones included."""
        return self._faults.all()

    def clear_faults(self) -> None:
        """Remove every queued fault."""
        self._faults.clear()

    @property
    def _faults(self) -> Faults:
        return self.state.extensions["faults"]  # type: ignore[no-any-return]

    @property
    def control_url(self) -> str:
        """The control API's root on a live server (``http://127.0.0.1:<port>/__mock_as__``):
        at the server's root, outside AM's context path."""
        base = self.base_url
        context = self.state.config.context_path.rstrip("/")
        if context and base.endswith(context):
            base = base[: -len(context)]
        return f"{base}/__mock_as__"

    def attach(self, requests_mock: Any) -> None:
        """Serve this mock's state from your own ``responses.RequestsMock`` too, at this handle's
        ``base_url`` (a mock started later shadows earlier ones, so it must know the routes)."""
        from .patching import attach_requests

        attach_requests(requests_mock, self.state, self.base_url)
