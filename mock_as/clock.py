"""Time for the mock: every issue and every validity check reads the same clock.

A :class:`Clock` is wall-clock time plus an offset that tests move with :meth:`Clock.advance`,
optionally frozen at one instant, so a test never sleeps to make a token expire.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable


def _instant(value: float) -> float:
    """``value`` as a reading of the clock: a finite number (token lifetimes are added to it)."""
    instant = float(value)
    if not math.isfinite(instant):
        raise ValueError(f"the mock's clock cannot read {value!r}")
    return instant


class Clock:
    """The mock's clock, in seconds since the epoch (float).

    :param start: freeze the clock at this instant (epoch seconds); ``None`` follows wall-clock time.

    >>> clock = Clock(start=1_700_000_000)
    >>> clock.advance(61)
    >>> clock.now()
    1700000061.0
    """

    __slots__ = ("_frozen_at", "_lock", "_offset", "on_change")

    def __init__(self, start: float | None = None) -> None:
        self.on_change: Callable[[float, float | None], None] | None = None
        """Called with ``(offset, frozen_at)`` after every move (a shared store publishes them)."""
        self._lock = threading.Lock()
        self._offset = 0.0
        self._frozen_at: float | None = None if start is None else _instant(start)

    def now(self) -> float:
        """The current instant as the mock sees it."""
        frozen = self._frozen_at
        if frozen is not None:
            return frozen
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        """Move the clock forward (or back, with a negative number) by ``seconds``; a move that
        would leave it beyond any finite instant raises :class:`ValueError`."""
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at = _instant(self._frozen_at + seconds)
            else:
                _instant(time.time() + self._offset + seconds)
                self._offset += seconds
        self._changed()

    def freeze(self, at: float | None = None) -> None:
        """Stop the clock at ``at`` (default: now) until :meth:`unfreeze`."""
        with self._lock:
            self._frozen_at = self.now() if at is None else _instant(at)
        self._changed()

    def unfreeze(self) -> None:
        """Let the clock run again from where it stands."""
        with self._lock:
            if self._frozen_at is not None:
                self._offset = self._frozen_at - time.time()
                self._frozen_at = None
        self._changed()

    @property
    def frozen(self) -> bool:
        """Whether the clock is frozen."""
        return self._frozen_at is not None

    def reset(self, start: float | None = None) -> None:
        """Back to wall-clock time (or frozen at ``start``), with no offset."""
        with self._lock:
            self._offset = 0.0
            self._frozen_at = None if start is None else _instant(start)

    def dump(self) -> tuple[float, float | None]:
        """``(offset, frozen_at)``: what another process needs to read the same time."""
        with self._lock:
            return self._offset, self._frozen_at

    def load(self, offset: float, frozen_at: float | None) -> None:
        """Take another process's ``(offset, frozen_at)`` (without calling :attr:`on_change`)."""
        with self._lock:
            self._offset = offset
            self._frozen_at = frozen_at

    def _changed(self) -> None:
        hook = self.on_change
        if hook is not None:
            hook(*self.dump())
