"""What the server suites measured, one frozen record per (server, size), and the ratios.

Every ratio here is "how many times better than the reference" (> 1: better than
it), whatever the unit: round trips per second divided by the reference's, the
reference's milliseconds divided by ours, the reference's KiB per client divided
by ours.  A ratio is None when either side has no number.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from .loadgen import EchoSample

__all__ = [
    "EchoResult",
    "FanoutResult",
    "MemoryResult",
    "Spread",
    "higher_is_better",
    "lower_is_better",
    "spread",
]


@dataclass(frozen=True, slots=True)
class Spread:
    """Median and range of a few samples."""

    median: float
    low: float
    high: float


def spread(values: Sequence[float]) -> Spread | None:
    """Median, min and max of ``values``; None when there are none."""
    if not values:
        return None
    return Spread(statistics.median(values), min(values), max(values))


def higher_is_better(ours: float | None, reference: float | None) -> float | None:
    """``ours / reference`` (throughputs)."""
    if ours is None or reference is None or reference <= 0 or ours < 0:
        return None
    return ours / reference


def lower_is_better(ours: float | None, reference: float | None) -> float | None:
    """``reference / ours`` (times, memory)."""
    if ours is None or reference is None or ours <= 0 or reference < 0:
        return None
    return reference / ours


@dataclass(frozen=True, slots=True)
class EchoResult:
    """Every echo round of one server with one client count (or why there is none)."""

    server: str
    clients: int
    samples: tuple[EchoSample, ...]
    error: str | None = None

    @property
    def per_second(self) -> Spread | None:
        return spread([s.per_second for s in self.samples])

    @property
    def p50_ms(self) -> float | None:
        """Median over the rounds of each round's median latency."""
        return statistics.median([s.p50_ms for s in self.samples]) if self.samples else None

    @property
    def p99_ms(self) -> float | None:
        return statistics.median([s.p99_ms for s in self.samples]) if self.samples else None

    def ratio(self, reference: EchoResult | None) -> float | None:
        """Median round trips per second over the reference's median."""
        ours, theirs = self.per_second, None if reference is None else reference.per_second
        return higher_is_better(
            None if ours is None else ours.median, None if theirs is None else theirs.median
        )


@dataclass(frozen=True, slots=True)
class FanoutResult:
    """Broadcast rounds of one server to ``clients`` connections (warm-up round excluded)."""

    server: str
    clients: int
    milliseconds: tuple[float, ...]
    error: str | None = None

    @property
    def time_ms(self) -> Spread | None:
        return spread(self.milliseconds)

    def ratio(self, reference: FanoutResult | None) -> float | None:
        """The reference's median time over ours."""
        ours, theirs = self.time_ms, None if reference is None else reference.time_ms
        return lower_is_better(
            None if ours is None else ours.median, None if theirs is None else theirs.median
        )


@dataclass(frozen=True, slots=True)
class MemoryResult:
    """Resident memory of a fresh server before and while it holds ``clients`` idle ones."""

    server: str
    clients: int
    base_kib: int | None
    loaded_kib: int | None
    error: str | None = None

    @property
    def per_client_kib(self) -> float | None:
        if self.base_kib is None or self.loaded_kib is None or self.clients <= 0:
            return None
        return (self.loaded_kib - self.base_kib) / self.clients

    def ratio(self, reference: MemoryResult | None) -> float | None:
        """The reference's KiB per client over ours."""
        return lower_is_better(
            self.per_client_kib, None if reference is None else reference.per_client_kib
        )
