"""Reconnection delays: exponential backoff with jitter, as socket.io-client computes them.

The rules are those of the client's ``Backoff`` (``contrib/backo2.ts``), which works in
integer milliseconds::

    ms = min * factor ** attempts++
    if jitter:
        rand = Math.random()
        deviation = Math.floor(rand * jitter * ms)
        ms = (Math.floor(rand * 10) & 1) == 0 ? ms - deviation : ms + deviation
    return Math.min(ms, max) | 0

:class:`Backoff` takes seconds, rounds ``delay`` and ``delay_max`` to whole
milliseconds, applies the rules above to the milliseconds (the floor included) and
returns the whole-millisecond result converted to seconds.  Given the same random
numbers it therefore yields exactly the JS delays, divided by 1000.
"""

from __future__ import annotations

import math
import random

from .config import ReconnectionConfig

__all__ = ["Backoff"]


def _whole_ms(seconds: float, name: str) -> int:
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"{name} must be a finite number >= 0")
    return round(seconds * 1000)


class Backoff:
    """The delays between reconnection attempts, in seconds.

    Each :meth:`duration` call returns the next delay: ``delay * factor ** attempts``
    moved up or down by up to ``jitter`` of itself, and never more than ``delay_max``.
    The jitter comes from a private ``random.Random`` seeded with ``seed``, so
    equal seeds give equal sequences (None seeds it from the OS).

    >>> from socketio_proto.socketio.backoff import Backoff
    >>> backoff = Backoff(delay=1.0, delay_max=5.0, jitter=0)
    >>> [backoff.duration() for _ in range(4)]
    [1.0, 2.0, 4.0, 5.0]
    >>> backoff.reset()
    >>> backoff.duration()
    1.0

    Deliberate differences from JS: parameters out of range raise :class:`ValueError`
    (JS silently uses a jitter of 0 instead), a ``delay`` of 0 means no delay (JS turns a
    ``min`` of 0 into 100 ms), and once ``delay * factor ** attempts`` overflows a float
    the delay stays at ``delay_max`` (JS then returns 0 for half of the attempts, as
    ``NaN | 0`` is 0).  JS's ``| 0`` also wraps delays over 2**31 ms (24.8 days); here
    they are kept.
    """

    __slots__ = ("_attempts", "_delay_ms", "_factor", "_jitter", "_max_ms", "_rng")

    def __init__(
        self,
        delay: float = 1.0,
        delay_max: float = 5.0,
        factor: float = 2.0,
        jitter: float = 0.5,
        seed: int | None = None,
    ) -> None:
        if not (math.isfinite(factor) and factor > 0):
            raise ValueError("factor must be a finite number > 0")
        if not 0 <= jitter <= 1:
            raise ValueError("jitter must be within [0, 1]")
        self._delay_ms = _whole_ms(delay, "delay")
        self._max_ms = _whole_ms(delay_max, "delay_max")
        self._factor = float(factor)  # an int would make factor**attempts an unbounded int
        self._jitter = jitter
        # Never the global RNG: the application may seed or use it for its own ends.
        self._rng = random.Random(seed)
        self._attempts = 0

    @classmethod
    def from_config(cls, config: ReconnectionConfig) -> Backoff:
        """The backoff a client uses for ``config`` (``randomization_factor`` is the jitter)."""
        return cls(
            delay=config.delay,
            delay_max=config.delay_max,
            jitter=config.randomization_factor,
            seed=config.seed,
        )

    @property
    def attempts(self) -> int:
        """How many delays have been handed out since creation or the last :meth:`reset`."""
        return self._attempts

    def duration(self) -> float:
        """The next delay in seconds (a whole number of milliseconds); counts an attempt."""
        attempt = self._attempts
        self._attempts += 1
        # Drawn before anything else so the random sequence stays aligned with JS's.
        rand = self._rng.random() if self._jitter else 0.0
        try:
            ms = self._delay_ms * self._factor**attempt
        except OverflowError:  # float ** raises where JS gives Infinity
            ms = math.inf
        if math.isinf(ms):
            return self._max_ms / 1000
        if self._jitter:
            deviation = math.floor(rand * self._jitter * ms)
            ms = ms - deviation if math.floor(rand * 10) & 1 == 0 else ms + deviation
        # JS's "| 0" truncates; the values here are never negative.
        return int(min(ms, self._max_ms)) / 1000

    def reset(self) -> None:
        """Start over from ``delay`` (after a successful reconnection)."""
        self._attempts = 0
