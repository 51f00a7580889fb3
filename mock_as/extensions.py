"""Optional behaviours hooked into the state when it is built (id tokens, JWT tokens, lockout, faults).

Each feature module exposes ``install(state)``, which puts its hooks in ``state.extensions``; an
extension with a ``reset()`` method is reset with the state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .state import State


def install(state: State) -> None:
    """Install every feature's hooks on ``state``."""
    from . import faults, lockout

    lockout.install(state)
    faults.install(state)
    from . import keys, oidc, tokens_jwt

    keys.install(state)  # first: the token formats and id_tokens sign with its key
    tokens_jwt.install(state)
    oidc.install(state)
