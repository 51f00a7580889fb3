"""One handle over the mock, whichever transport serves it: URLs, users, clients, clock, journal."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal
from urllib.parse import urlencode

from .clock import Clock
from .config import DEMO_USER, DOCS_CLIENT, ClientConfig, RealmConfig, UserConfig
from .errors import ConfigError
from .faults import Fault
from .grants import lifetimes
from .lockout import LockoutConfig, LockState
from .login import check_password
from .paths import JSON_ENDPOINTS, OAUTH2_ENDPOINTS, control_url, json_url, login_page_url, oauth2_url
from .sessions import LoginSession, Session
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
        ``userinfo``, ``idtokeninfo``, ``openid-configuration``, ``jwk_uri``, ``authorize``,
        ``endSession``) in ``realm``."""
        if endpoint not in OAUTH2_ENDPOINTS:
            raise ValueError(f"unknown endpoint {endpoint!r}; known: {sorted(OAUTH2_ENDPOINTS)}")
        return oauth2_url(self.base_url, endpoint, realm)

    def authorize_url(
        self,
        client_id: str = "sdkPublicClient",
        redirect_uri: str | None = None,
        *,
        realm: str = "/",
        scope: str | Iterable[str] | None = None,
        state: str | None = None,
        nonce: str | None = None,
        code_challenge: str | None = None,
        code_challenge_method: str | None = None,
        prompt: str | None = None,
        response_type: str = "code",
        **params: str,
    ) -> str:
        """An ``/oauth2/…/authorize`` URL for a browser (or a client that follows no redirects):
        ``authorize_url("sdkPublicClient", "http://127.0.0.1:8000/callback.html", scope="openid",
        state="s1", code_challenge=pkce_challenge(verifier), code_challenge_method="S256")``.
        Parameters left ``None`` are left out; ``params`` adds any others."""
        if scope is not None and not isinstance(scope, str):
            scope = " ".join(scope)
        named = {
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "response_type": response_type,
            "scope": scope,
            "state": state,
            "nonce": nonce,
            "code_challenge": code_challenge,
            "code_challenge_method": code_challenge_method,
            "prompt": prompt,
            **params,
        }
        query = urlencode({k: v for k, v in named.items() if v is not None})
        return f"{oauth2_url(self.base_url, 'authorize', self.state.realm(realm).name)}?{query}"

    def login_page_url(self, goto: str, realm: str = "/") -> str:
        """The mock's login page (``<context>/UI/Login``), which returns to ``goto`` after a login."""
        return login_page_url(self.base_url, self.state.realm(realm).name, goto)

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
                username=username,
                password=password,
                attributes=attrs,
                status=status,
                password_expired=expired,
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
        ``refresh_token_lifetime``, ``active``, and for browser clients ``redirect_uris``,
        ``pkce_required``, ``implied_consent``, ``post_logout_redirect_uris``, ``cors_origins``."""
        for key in ("redirect_uris", "post_logout_redirect_uris", "cors_origins"):
            if key in settings:
                settings[key] = tuple(settings[key])
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
        settings.setdefault("clients", (DOCS_CLIENT,))
        settings.setdefault("users", (DEMO_USER,))
        return self.state.add_realm(RealmConfig(name=name, **settings)).name

    def configure_realm(self, realm: str = "/", **settings: Any) -> RealmConfig:
        """Change a realm's provider settings until the next reset: ``configure_realm(access_token_lifetime=60)``."""
        return self.state.update_realm(realm, **settings)

    # -- tokens and journal -------------------------------------------------------------------

    def token(self, token_id: str) -> Token | None:
        """The live token with that id, or behind that client-based JWT (``None`` if unknown,
        revoked or expired)."""
        return self.state.find(self.state.formats.resolve(token_id))

    def mint_token(
        self,
        username: str | None = "demo",
        client_id: str = "myClient",
        scopes: str | Iterable[str] = ("write",),
        *,
        realm: str = "/",
        lifetime: float | None = None,
        expires_in: float | None = None,
        expired: bool = False,
        kind: Literal["access_token", "refresh_token"] = "access_token",
        grant_type: str | None = None,
    ) -> str:
        """Issue a token directly, as if a grant had run, and return the string a client would hold:
        a resource server's test needs no token request.

        :param username: the resource owner, a user of ``realm``; ``None`` mints a client-credentials
            token whose subject is the client itself.
        :param client_id: a client of ``realm`` (AM rejects the tokens of a deleted client).
        :param scopes: the granted scopes, a sequence or a space-separated string; they are not
            checked against the client's allowed scopes.
        :param realm: the realm that issues it.
        :param lifetime: seconds; by default the client's or realm's lifetime for ``kind``. ``-1``
            never expires.
        :param expires_in: seconds left on the mock's clock (the token was issued ``lifetime -
            expires_in`` ago). Like AM, endpoints then report one second less.
        :param expired: the token ran out a second ago (issued ``lifetime + 1`` seconds ago).
        :param kind: ``access_token`` or ``refresh_token``.
        :param grant_type: what tokeninfo reports; ``password`` by default, ``client_credentials``
            when ``username`` is ``None``.
        :returns: the token id, or a signed JWT when the realm's ``token_format`` is ``jwt``.

        >>> from mock_as import State, MockASConfig
        >>> mock = MockAS(State(MockASConfig(seed=1)), "https://openam.example.com:8443/openam")
        >>> token = mock.mint_token("demo", scopes="write mail", expires_in=30)
        >>> mock.token(token).scopes, mock.token(token).expires_in(mock.clock.now()) in (29, 30)
        (('write', 'mail'), True)
        """
        state = self.state
        where = state.realm(realm)
        client = where.clients.get(client_id)
        if client is None:
            raise ConfigError(f"no client {client_id!r} in realm {where.name!r}")
        if username is not None and username not in where.users:
            raise ConfigError(f"no user {username!r} in realm {where.name!r}")
        if kind not in ("access_token", "refresh_token"):
            raise ConfigError(f"kind must be 'access_token' or 'refresh_token', not {kind!r}")
        if expired and expires_in is not None:
            raise ConfigError("pass expired=True or expires_in, not both")
        access_life, refresh_life = lifetimes(where, client)
        default = access_life if kind == "access_token" else refresh_life
        life = float(default if lifetime is None else lifetime)
        if life < 0 and (expired or expires_in is not None):
            raise ConfigError("a token that never expires cannot be expired or about to expire")
        remaining = -1.0 if expired else life if expires_in is None else float(expires_in)
        if life >= 0 and remaining > life:
            raise ConfigError(f"expires_in={expires_in} is longer than the lifetime {life:g}")
        now = state.clock.now()
        token = state.issue(
            kind=kind,
            realm=where.name,
            client_id=client.client_id,
            username=client.client_id if username is None else username,
            scopes=tuple(dict.fromkeys(scopes.split() if isinstance(scopes, str) else scopes)),
            grant_type=grant_type or ("client_credentials" if username is None else "password"),
            lifetime=life,
            now=now if life < 0 else now - (life - remaining),
        )
        return state.formats.present(token, self.base_url)

    def issuer(self, realm: str = "/") -> str:
        """The ``iss`` of the realm's id_tokens and client-based tokens, as this handle's clients
        see it: ``<base_url>/oauth2`` for the top realm, ``…/oauth2/realms/root/realms/<name>`` below."""
        return self.state.issuer(self.base_url, self.state.realm(realm).name)

    @property
    def jwks(self) -> dict[str, Any]:
        """The JWK set published at ``/oauth2/connect/jwk_uri``: the key that verifies id_tokens and
        client-based tokens."""
        return dict(self.state.keys.current.jwks())

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

    def set_lockout(self, realm: str = "/", **fields: Any) -> LockoutConfig:
        """Turn on AM's login failure lockout in ``realm`` until the next reset; ``fields`` are
        :class:`LockoutConfig`'s (``enabled`` defaults to true here; AM's defaults otherwise:
        5 failures within 300 minutes lock the account until an administrator unlocks it)."""
        fields.setdefault("enabled", True)
        try:
            lockout = LockoutConfig(**fields)
        except TypeError as e:
            raise ConfigError(str(e)) from e
        self.state.update_realm(realm, lockout=lockout)
        return lockout

    def lock_user(self, username: str, realm: str = "/") -> UserConfig:
        """Lock an account as an administrator would, until :meth:`unlock_user`."""
        return self.state.lockout.lock(realm, username)

    def unlock_user(self, username: str, realm: str = "/") -> UserConfig:
        """Unlock an account (locked by the lockout or by hand) and clear its failure count."""
        return self.state.lockout.unlock(realm, username)

    def lock_state(self, username: str, realm: str = "/") -> LockState:
        """Whether the account is locked, until when, and the failures counted so far."""
        return self.state.lockout.state_of(realm, username)

    # -- fault injection ----------------------------------------------------------------------

    def fail(self, endpoint: str | None = None, **fields: Any) -> Fault:
        """Queue a fault for the next matching request(s) to AM's surface, and return it
        (``fault.fired`` counts the hits); ``fields`` are :class:`~mock_as.faults.Fault`'s.

        ``am.fail("access_token")`` answers the next token call 400 ``invalid_grant``;
        ``status=503``, ``retry_after=30``, ``body=…``, ``malformed=True``, ``empty=True`` or
        ``drop=True`` change the answer; ``delay=0.5`` waits first (alone, it only slows AM's own
        answer); ``times=None`` keeps it until :meth:`clear_faults`. ``realm``, ``client_id``,
        ``username`` and ``grant_type`` narrow the requests it hits."""
        try:
            fault = Fault(endpoint=endpoint, **fields)
        except TypeError as e:
            raise ConfigError(str(e)) from e
        return self.state.faults.add(fault)

    @property
    def faults(self) -> list[Fault]:
        """The faults queued since the last reset or :meth:`clear_faults`, spent ones included."""
        return self.state.faults.all()

    def clear_faults(self) -> None:
        """Remove every queued fault."""
        self.state.faults.clear()

    @property
    def control_url(self) -> str:
        """The control API's root on a live server (``http://127.0.0.1:<port>/__mock_as__``):
        at the server's root, outside AM's context path."""
        return control_url(self.base_url, self.state.config.context_path)

    # -- SSO sessions (REST login) ------------------------------------------------------------

    def rest_url(self, endpoint: str = "authenticate", realm: str = "/") -> str:
        """The URL of an AM REST resource (``authenticate``, ``sessions``, ``users``) in ``realm``,
        in the ``/json/realms/root`` form; ``serverinfo`` gives ``…/json/serverinfo/*``."""
        if endpoint not in JSON_ENDPOINTS:
            raise ValueError(f"unknown REST resource {endpoint!r}; known: {sorted(JSON_ENDPOINTS)}")
        return json_url(self.base_url, endpoint, self.state.realm(realm).name)

    def login(
        self,
        username: str = "demo",
        realm: str = "/",
        password: str | None = None,
        service: str | None = None,
    ) -> LoginSession:
        """Open an SSO session for ``username`` as a REST login would, without a request, and return
        it as a client holds it: ``.token_id``, ``.cookies`` (for requests/httpx), ``.cookie`` (for
        Playwright's ``context.add_cookies``), ``.headers`` (the header named after the cookie).

        With ``password`` the login runs the realm's service (``service``, default the realm's
        default) through the same check, account states and lockout as every login, and a failure
        raises :class:`ConfigError`; without it the user just has to exist."""
        state = self.state
        where = state.realm(realm)
        chosen = service or where.config.org_auth_service
        if chosen not in where.services:
            raise ConfigError(f"no authentication service {chosen!r} in realm {where.name!r}")
        if username not in where.users:
            raise ConfigError(f"no user {username!r} in realm {where.name!r}")
        now = state.clock.now()
        if password is not None:
            result = check_password(state, where, where.services[chosen], username, password, now)
            if not result.ok:
                raise ConfigError(f"login of {username!r} failed: {result.outcome.value}")
        session = state.sessions.create(where, username, chosen, now)
        return LoginSession(session, state.config.cookie_name, self.base_url)

    @property
    def sessions(self) -> list[Session]:
        """The live SSO sessions, oldest first."""
        return self.state.sessions.live(self.state.clock.now())

    def session(self, token_id: str) -> Session | None:
        """The live session behind an SSO token, or ``None`` (unknown, logged out or timed out)."""
        return self.state.sessions.get(token_id, self.state.clock.now())

    def end_session(self, token_id: str) -> bool:
        """End a session as a logout would; whether there was one."""
        return self.state.sessions.end(token_id) is not None
