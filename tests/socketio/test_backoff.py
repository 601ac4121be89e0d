"""Tests of :class:`~socketio_proto.socketio.backoff.Backoff` (socket.io-client ``Backoff``).

The jitter is checked against a transcription of the JS ``duration()`` fed with the
same random numbers, and as bounds: every delay is within ``jitter`` of the
undisturbed one, capped at ``delay_max``.
"""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from socketio_proto.socketio.backoff import Backoff
from socketio_proto.socketio.config import ReconnectionConfig


def js_durations(
    min_ms: int, max_ms: int, factor: float, jitter: float, randoms: list[float]
) -> list[int]:
    """``Backoff.prototype.duration`` from socket.io-client, one call per random number."""
    delays = []
    for attempts, rand in enumerate(randoms):
        ms = min_ms * factor**attempts
        if jitter:
            deviation = math.floor(rand * jitter * ms)
            ms = ms - deviation if math.floor(rand * 10) & 1 == 0 else ms + deviation
        delays.append(int(min(ms, max_ms)))
    return delays


def test_without_jitter_delays_double_up_to_the_cap() -> None:
    backoff = Backoff(delay=1.0, delay_max=5.0, jitter=0)
    assert [backoff.duration() for _ in range(6)] == [1.0, 2.0, 4.0, 5.0, 5.0, 5.0]
    assert backoff.attempts == 6


def test_other_factor_and_fractional_seconds() -> None:
    backoff = Backoff(delay=0.3, delay_max=10.0, factor=3, jitter=0)
    assert [backoff.duration() for _ in range(4)] == [0.3, 0.9, 2.7, 8.1]


def test_reset() -> None:
    backoff = Backoff(jitter=0)
    for _ in range(3):
        backoff.duration()
    assert backoff.attempts == 3
    backoff.reset()
    assert backoff.attempts == 0
    assert backoff.duration() == 1.0
    assert backoff.attempts == 1


def test_matches_js_given_the_same_random_numbers() -> None:
    rng = random.Random(7)
    randoms = [rng.random() for _ in range(12)]
    backoff = Backoff(delay=1.0, delay_max=5.0, jitter=0.5, seed=7)
    got = [round(backoff.duration() * 1000) for _ in range(12)]
    assert got == js_durations(1000, 5000, 2, 0.5, randoms)


def test_hand_computed_jitter() -> None:
    # rand 0.25: floor(2.5) = 2 is even, so the delay moves down by floor(0.25 * 0.5 * ms).
    # rand 0.375: floor(3.75) = 3 is odd, so it moves up.
    assert js_durations(1000, 5000, 2, 0.5, [0.25, 0.375, 0.25]) == [875, 2375, 3500]
    seed = next(s for s in range(1000) if random.Random(s).random() < 0.1)
    first = random.Random(seed).random()
    expected = (1000 - math.floor(first * 500)) / 1000  # floor(rand * 10) == 0: down
    assert Backoff(seed=seed).duration() == expected


def test_same_seed_same_sequence_different_seeds_differ() -> None:
    def sequence(seed: int) -> list[float]:
        backoff = Backoff(seed=seed)
        return [backoff.duration() for _ in range(10)]

    assert sequence(1) == sequence(1)
    assert sequence(1) != sequence(2)


def test_uses_its_own_rng() -> None:
    random.seed(0)
    before = random.getstate()
    backoff = Backoff(seed=None)
    for _ in range(5):
        backoff.duration()
    assert random.getstate() == before


def test_jitter_zero_draws_no_random_numbers() -> None:
    backoff = Backoff(jitter=0, seed=3)
    backoff.duration()
    assert backoff._rng.getstate() == random.Random(3).getstate()


def test_from_config() -> None:
    config = ReconnectionConfig(delay=0.5, delay_max=3.0, randomization_factor=0.2, seed=11)
    backoff = Backoff.from_config(config)
    twin = Backoff(delay=0.5, delay_max=3.0, jitter=0.2, seed=11)
    assert [backoff.duration() for _ in range(8)] == [twin.duration() for _ in range(8)]
    plain = Backoff.from_config(ReconnectionConfig(randomization_factor=0))
    assert [plain.duration() for _ in range(4)] == [1.0, 2.0, 4.0, 5.0]


def test_zero_delay_means_no_delay() -> None:
    backoff = Backoff(delay=0, delay_max=5.0)
    assert [backoff.duration() for _ in range(3)] == [0.0, 0.0, 0.0]


def test_huge_attempt_counts_stay_at_the_cap() -> None:
    for jitter in (0, 0.5, 1):
        backoff = Backoff(delay=1.0, delay_max=5.0, jitter=jitter, seed=5)
        delays = [backoff.duration() for _ in range(1200)]  # float overflow from ~1014 on
        assert delays[-200:] == [5.0] * 200


@pytest.mark.parametrize(
    "kwargs",
    [
        {"delay": -1.0},
        {"delay": math.inf},
        {"delay_max": -0.5},
        {"delay_max": math.nan},
        {"factor": 0},
        {"factor": math.inf},
        {"jitter": -0.1},
        {"jitter": 1.5},
        {"jitter": math.nan},
    ],
    ids=repr,
)
def test_invalid_parameters(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be"):
        Backoff(**kwargs)  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(
    delay_ms=st.integers(0, 10_000),
    extra_ms=st.integers(0, 100_000),
    factor=st.sampled_from([1.0, 1.5, 2.0, 3.0]),
    jitter=st.floats(0, 1),
    seed=st.integers(0, 2**32),
    steps=st.integers(1, 30),
)
def test_delays_stay_within_the_jitter_bounds(
    *, delay_ms: int, extra_ms: int, factor: float, jitter: float, seed: int, steps: int
) -> None:
    max_ms = delay_ms + extra_ms
    backoff = Backoff(delay_ms / 1000, max_ms / 1000, factor, jitter, seed)
    rng = random.Random(seed)
    randoms = [rng.random() for _ in range(steps)] if jitter else [0.0] * steps
    expected = js_durations(delay_ms, max_ms, factor, jitter, randoms)
    for attempts in range(steps):
        got_ms = backoff.duration() * 1000
        assert got_ms == pytest.approx(round(got_ms), abs=1e-6)  # whole milliseconds
        assert round(got_ms) == expected[attempts]
        ms = delay_ms * factor**attempts
        low = min(ms * (1 - jitter), max_ms)
        high = min(ms * (1 + jitter), max_ms)
        assert math.floor(low) - 1 <= round(got_ms) <= high
    assert backoff.attempts == steps
