"""Tests of :class:`~socketio_proto.socketio.recovery.RecoveryStore` alone (protocol.md 2.10).

Unit tests of each rule -- store/restore, the replay filter (JS
``shouldIncludePacket``), unknown offsets, expiry exactly at
``disconnected_at + max_disconnection_duration`` (and of packets by their
``emitted_at``), one restore per pid, namespace mismatch, the
``max_stored_packets`` bound, ``next_deadline`` -- then a hypothesis state
machine that runs random sequences against a naive list-based model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from socketio_proto.socketio.adapter import BroadcastOptions
from socketio_proto.socketio.config import RecoveryConfig
from socketio_proto.socketio.packet import Packet, PacketType
from socketio_proto.socketio.recovery import RecoveryStore, StoredPacket, StoredSession

MAX = 10.0


def _store(max_duration: float = MAX, max_packets: int = 10_000) -> RecoveryStore:
    return RecoveryStore(
        RecoveryConfig(max_disconnection_duration=max_duration, max_stored_packets=max_packets)
    )


def _packet(offset: str, *args: Any, namespace: str = "/") -> Packet:
    return Packet(PacketType.EVENT, namespace, ["tick", *args, offset])


def _opts(rooms: tuple[str, ...] = (), exclude: tuple[str, ...] = ()) -> BroadcastOptions:
    return BroadcastOptions(rooms=frozenset(rooms), exclude=frozenset(exclude))


def _session(
    pid: str = "pid1",
    *,
    sid: str = "sid1",
    rooms: tuple[str, ...] = ("sid1",),
    namespace: str = "/",
    at: float = 0.0,
    data: Any = None,
) -> StoredSession:
    return StoredSession(sid, pid, namespace, frozenset(rooms), data, at)


def _emit(
    store: RecoveryStore,
    offset: str,
    at: float,
    *,
    rooms: tuple[str, ...] = (),
    exclude: tuple[str, ...] = (),
    namespace: str = "/",
) -> Packet:
    packet = _packet(offset, namespace=namespace)
    store.store_packet(offset, packet, _opts(rooms, exclude), at)
    return packet


def _offsets(packets: list[Packet]) -> list[str]:
    return [p.data[-1] for p in packets]


# -- configuration -----------------------------------------------------------------------


def test_config_defaults_follow_js() -> None:
    config = RecoveryConfig()
    assert config.max_disconnection_duration == 120.0
    assert config.skip_middlewares is True
    assert config.max_stored_packets >= 1


@pytest.mark.parametrize("duration", [0.0, -1.0])
def test_config_rejects_non_positive_duration(duration: float) -> None:
    with pytest.raises(ValueError, match="max_disconnection_duration"):
        RecoveryConfig(max_disconnection_duration=duration)


def test_config_rejects_empty_packet_bound() -> None:
    with pytest.raises(ValueError, match="max_stored_packets"):
        RecoveryConfig(max_stored_packets=0)


# -- store / restore ---------------------------------------------------------------------


def test_empty_store() -> None:
    store = _store()
    assert len(store) == 0
    assert store.sessions == 0
    assert store.next_deadline() is None
    assert store.restore("pid1", "o1", 0.0, "/") is None


def test_restore_returns_session_and_packets_after_offset() -> None:
    store = _store()
    p1 = _emit(store, "o1", 0.0)
    p2 = _emit(store, "o2", 1.0)
    p3 = _emit(store, "o3", 2.0)
    session = _session(at=1.5, data={"user": 7})
    store.save_session(session)
    assert (len(store), store.sessions) == (3, 1)
    restored = store.restore("pid1", "o1", 3.0, "/")
    assert restored is not None
    got, missed = restored
    assert got == session
    assert got.data == {"user": 7}
    # Strictly after the offset, in emission order, the very same packets.
    assert missed == [p2, p3]
    assert missed[0] is p2
    assert p1 not in missed
    # Packets stay (other sessions may need them); the session is gone.
    assert (len(store), store.sessions) == (3, 0)


def test_restore_at_latest_offset_replays_nothing() -> None:
    store = _store()
    _emit(store, "o1", 0.0)
    _emit(store, "o2", 0.0)
    store.save_session(_session())
    assert store.restore("pid1", "o2", 1.0, "/") == (_session(), [])


def test_unknown_pid_is_none() -> None:
    store = _store()
    _emit(store, "o1", 0.0)
    store.save_session(_session())
    assert store.restore("other", "o1", 1.0, "/") is None
    assert store.sessions == 1


def test_unknown_offset_is_none_and_the_session_stays() -> None:
    store = _store()
    _emit(store, "o1", 0.0)
    store.save_session(_session())
    assert store.restore("pid1", "nope", 1.0, "/") is None
    assert store.sessions == 1
    # The right offset still works afterwards.
    assert store.restore("pid1", "o1", 1.0, "/") is not None


def test_no_packet_at_all_means_no_offset_to_find() -> None:
    store = _store()
    store.save_session(_session())
    assert store.restore("pid1", "", 1.0, "/") is None
    assert store.sessions == 1


def test_a_pid_is_good_for_one_restore() -> None:
    store = _store()
    _emit(store, "o1", 0.0)
    _emit(store, "o2", 0.0)
    store.save_session(_session())
    assert store.restore("pid1", "o1", 1.0, "/") is not None
    assert store.restore("pid1", "o1", 1.0, "/") is None
    assert store.restore("pid1", "o2", 1.0, "/") is None
    # Saved again (the recovered socket dropped again): good for one more.
    store.save_session(_session(at=2.0))
    restored = store.restore("pid1", "o1", 3.0, "/")
    assert restored is not None
    assert _offsets(restored[1]) == ["o2"]


def test_namespace_mismatch_is_none_and_the_session_stays() -> None:
    store = _store()
    _emit(store, "o1", 0.0, namespace="/custom")
    store.save_session(_session(namespace="/custom"))
    assert store.restore("pid1", "o1", 1.0, "/") is None
    assert store.sessions == 1
    restored = store.restore("pid1", "o1", 1.0, "/custom")
    assert restored is not None
    assert restored[0].namespace == "/custom"


def test_offset_of_another_namespace_positions_the_replay() -> None:
    # Offsets are global: the position counts, the replay keeps only the namespace's packets.
    store = _store()
    _emit(store, "o1", 0.0, namespace="/custom")
    _emit(store, "o2", 0.0)
    _emit(store, "o3", 0.0, namespace="/custom")
    _emit(store, "o4", 0.0)
    store.save_session(_session())
    restored = store.restore("pid1", "o1", 1.0, "/")
    assert restored is not None
    assert _offsets(restored[1]) == ["o2", "o4"]


def test_sessions_are_per_pid() -> None:
    store = _store()
    _emit(store, "o1", 0.0)
    _emit(store, "o2", 0.0, rooms=("b",))
    store.save_session(_session(pid="pa", sid="a", rooms=("a",)))
    store.save_session(_session(pid="pb", sid="b", rooms=("b",)))
    assert store.sessions == 2
    ra = store.restore("pa", "o1", 1.0, "/")
    rb = store.restore("pb", "o1", 1.0, "/")
    assert ra is not None
    assert rb is not None
    assert (ra[0].sid, _offsets(ra[1])) == ("a", [])
    assert (rb[0].sid, _offsets(rb[1])) == ("b", ["o2"])


def test_save_again_replaces_the_session() -> None:
    store = _store()
    _emit(store, "o1", 0.0)
    store.save_session(_session(rooms=("sid1",), data=1))
    store.save_session(_session(rooms=("sid1", "red"), data=2, at=1.0))
    assert store.sessions == 1
    restored = store.restore("pid1", "o1", 2.0, "/")
    assert restored is not None
    assert restored[0].rooms == {"sid1", "red"}
    assert restored[0].data == 2


# -- replay filter (JS shouldIncludePacket) ---------------------------------------------------


@pytest.mark.parametrize(
    ("rooms", "exclude", "session_rooms", "reaches"),
    [
        # No rooms: everyone of the namespace.
        ((), (), ("s",), True),
        # Included when any session room is targeted.
        (("s",), (), ("s",), True),
        (("red",), (), ("s", "red"), True),
        (("red", "blue"), (), ("s", "blue"), True),
        (("red",), (), ("s",), False),
        (("red",), (), ("s", "blue"), False),
        # Excluded when any session room is excluded, whether targeted or not.
        ((), ("s",), ("s",), False),
        ((), ("red",), ("s", "red"), False),
        (("red",), ("blue",), ("s", "red", "blue"), False),
        ((), ("blue",), ("s", "red"), True),
        (("red",), ("blue",), ("s", "red"), True),
        # Both in the same room: excluded wins.
        (("red",), ("red",), ("s", "red"), False),
    ],
)
def test_replay_filter(
    rooms: tuple[str, ...],
    exclude: tuple[str, ...],
    session_rooms: tuple[str, ...],
    reaches: bool,
) -> None:
    store = _store()
    _emit(store, "o0", 0.0)
    _emit(store, "o1", 0.0, rooms=rooms, exclude=exclude)
    store.save_session(_session(sid="s", rooms=session_rooms))
    restored = store.restore("pid1", "o0", 1.0, "/")
    assert restored is not None
    assert _offsets(restored[1]) == (["o1"] if reaches else [])
    stored = StoredPacket("o1", _packet("o1"), _opts(rooms, exclude), 0.0)
    assert stored.reaches("/", frozenset(session_rooms)) is reaches
    assert stored.reaches("/other", frozenset(session_rooms)) is False


def test_replay_filter_keeps_order_and_skips_other_namespaces() -> None:
    store = _store()
    _emit(store, "o0", 0.0)
    _emit(store, "o1", 0.0, rooms=("red",))
    _emit(store, "o2", 0.0, namespace="/custom")
    _emit(store, "o3", 0.0, exclude=("red",))
    _emit(store, "o4", 0.0, rooms=("me",))
    _emit(store, "o5", 0.0, rooms=("blue",))
    _emit(store, "o6", 0.0)
    store.save_session(_session(sid="me", rooms=("me", "red")))
    restored = store.restore("pid1", "o0", 1.0, "/")
    assert restored is not None
    assert _offsets(restored[1]) == ["o1", "o4", "o6"]


# -- expiry ------------------------------------------------------------------------------------


def test_session_expires_exactly_at_disconnect_plus_duration() -> None:
    store = _store()
    _emit(store, "o1", 5.0)
    store.save_session(_session(at=5.0))
    assert store.next_deadline() == 5.0 + MAX
    assert store.restore("pid1", "o1", 5.0 + MAX, "/") is None
    assert store.sessions == 0
    assert len(store) == 0


def test_session_just_before_the_deadline_recovers() -> None:
    store = _store()
    _emit(store, "o1", 5.0)
    _emit(store, "o2", 6.0)
    store.save_session(_session(at=6.0))
    restored = store.restore("pid1", "o1", 14.999, "/")
    assert restored is not None
    assert _offsets(restored[1]) == ["o2"]


def test_packets_expire_by_emitted_at() -> None:
    # The session is young but the client's offset is older than the duration.
    store = _store()
    _emit(store, "o1", 0.0)
    _emit(store, "o2", 4.0)
    store.save_session(_session(at=8.0))
    assert store.restore("pid1", "o1", MAX, "/") is None  # o1 expired at exactly 10
    assert len(store) == 1
    assert store.sessions == 1
    restored = store.restore("pid1", "o2", MAX, "/")
    assert restored is not None
    assert restored[1] == []


def test_expire_drops_exactly_what_is_due() -> None:
    store = _store()
    _emit(store, "o1", 0.0)
    _emit(store, "o2", 1.0)
    store.save_session(_session(pid="a", at=0.5))
    store.save_session(_session(pid="b", at=2.0))
    store.expire(MAX - 0.001)
    assert (len(store), store.sessions) == (2, 2)
    store.expire(MAX)
    assert (len(store), store.sessions) == (1, 2)
    assert store.next_deadline() == 0.5 + MAX
    store.expire(0.5 + MAX)
    assert (len(store), store.sessions) == (1, 1)
    assert store.next_deadline() == 1.0 + MAX
    store.expire(1.0 + MAX)
    assert (len(store), store.sessions) == (0, 1)
    assert store.next_deadline() == 2.0 + MAX
    store.expire(2.0 + MAX)
    assert (len(store), store.sessions) == (0, 0)
    assert store.next_deadline() is None


def test_next_deadline_is_the_oldest_item() -> None:
    store = _store()
    store.save_session(_session(pid="a", at=3.0))
    assert store.next_deadline() == 3.0 + MAX
    _emit(store, "o1", 4.0)
    assert store.next_deadline() == 3.0 + MAX
    assert store.restore("a", "o1", 5.0, "/") is not None
    assert store.next_deadline() == 4.0 + MAX


def test_restore_expires_other_sessions_too() -> None:
    store = _store()
    _emit(store, "o1", 20.0)
    store.save_session(_session(pid="old", at=0.0))
    store.save_session(_session(pid="new", at=20.0))
    assert store.restore("new", "o1", 21.0, "/") is not None
    assert store.sessions == 0


# -- max_stored_packets ---------------------------------------------------------------------------


def test_packet_bound_drops_the_oldest() -> None:
    store = _store(max_packets=3)
    for n in range(5):
        _emit(store, f"o{n}", float(n))
    assert len(store) == 3
    store.save_session(_session(at=5.0))
    assert store.restore("pid1", "o0", 6.0, "/") is None
    assert store.restore("pid1", "o1", 6.0, "/") is None
    restored = store.restore("pid1", "o2", 6.0, "/")
    assert restored is not None
    assert _offsets(restored[1]) == ["o3", "o4"]
    # The deadline follows the oldest packet still kept.
    assert store.next_deadline() == 2.0 + MAX


def test_packet_bound_of_one() -> None:
    store = _store(max_packets=1)
    _emit(store, "o1", 0.0)
    _emit(store, "o2", 0.0)
    store.save_session(_session())
    assert store.restore("pid1", "o1", 1.0, "/") is None
    restored = store.restore("pid1", "o2", 1.0, "/")
    assert restored is not None
    assert restored[1] == []


def test_positions_survive_many_drops() -> None:
    # The offset -> index arithmetic after the deque was shifted many times.
    store = _store(max_packets=4)
    for n in range(1000):
        _emit(store, f"o{n}", 0.0)
    store.save_session(_session())
    restored = store.restore("pid1", "o997", 1.0, "/")
    assert restored is not None
    assert _offsets(restored[1]) == ["o998", "o999"]


# -- hypothesis: filter property ---------------------------------------------------------------

ROOM_NAMES = ["me", "r1", "r2", "r3"]
ROOM_SETS = st.frozensets(st.sampled_from(ROOM_NAMES), max_size=3)


@given(rooms=ROOM_SETS, exclude=ROOM_SETS, session_rooms=ROOM_SETS)
@settings(max_examples=200)
def test_reaches_is_js_should_include_packet(
    rooms: frozenset[str], exclude: frozenset[str], session_rooms: frozenset[str]
) -> None:
    stored = StoredPacket("o", _packet("o"), BroadcastOptions(rooms, exclude), 0.0)
    # JS: included = opts.rooms.size === 0 || sessionRooms.some(r => opts.rooms.has(r));
    #     notExcluded = sessionRooms.every(r => !opts.except.has(r)).
    included = len(rooms) == 0 or any(r in rooms for r in session_rooms)
    not_excluded = all(r not in exclude for r in session_rooms)
    assert stored.reaches("/", session_rooms) is (included and not_excluded)


# -- hypothesis: against a naive model ---------------------------------------------------------


@dataclass
class _ModelPacket:
    offset: str
    namespace: str
    rooms: frozenset[str]
    exclude: frozenset[str]
    at: float


class RecoveryStoreMachine(RuleBasedStateMachine):
    """Random store/save/restore/expire/advance against plain lists (time only moves forward)."""

    MAX_DURATION = 5.0
    MAX_PACKETS = 4

    def __init__(self) -> None:
        super().__init__()
        self.store = RecoveryStore(
            RecoveryConfig(
                max_disconnection_duration=self.MAX_DURATION,
                max_stored_packets=self.MAX_PACKETS,
            )
        )
        self.now = 0.0
        self.counter = 0
        self.packets: list[_ModelPacket] = []  # every packet still kept, oldest first
        self.sessions: list[StoredSession] = []  # every session still kept, oldest first
        self.packet_objects: dict[str, Packet] = {}
        self.offsets_seen: list[str] = ["never-stored"]

    # -- the naive model -------------------------------------------------------------

    def model_expire(self, now: float) -> None:
        horizon = now - self.MAX_DURATION
        self.packets = [p for p in self.packets if p.at > horizon]
        self.sessions = [s for s in self.sessions if s.disconnected_at > horizon]

    def model_restore(
        self, pid: str, offset: str, namespace: str
    ) -> tuple[StoredSession, list[str]] | None:
        self.model_expire(self.now)
        sessions = [s for s in self.sessions if s.pid == pid]
        offsets = [p.offset for p in self.packets]
        if not sessions or offset not in offsets or sessions[0].namespace != namespace:
            return None
        session = sessions[0]
        self.sessions.remove(session)
        missed = []
        for p in self.packets[offsets.index(offset) + 1 :]:
            included = not p.rooms or any(r in p.rooms for r in session.rooms)
            not_excluded = all(r not in p.exclude for r in session.rooms)
            if p.namespace == session.namespace and included and not_excluded:
                missed.append(p.offset)
        return session, missed

    # -- rules -------------------------------------------------------------------------

    @rule(seconds=st.sampled_from([0.0, 0.5, 1.0, 2.5, 5.0]))
    def advance(self, seconds: float) -> None:
        self.now += seconds

    @rule(
        namespace=st.sampled_from(["/", "/custom"]),
        rooms=ROOM_SETS,
        exclude=ROOM_SETS,
    )
    def store_packet(self, namespace: str, rooms: frozenset[str], exclude: frozenset[str]) -> None:
        self.counter += 1
        offset = f"o{self.counter}"
        packet = _packet(offset, self.counter, namespace=namespace)
        self.store.store_packet(offset, packet, BroadcastOptions(rooms, exclude), self.now)
        self.packet_objects[offset] = packet
        self.offsets_seen.append(offset)
        self.packets.append(_ModelPacket(offset, namespace, rooms, exclude, self.now))
        del self.packets[: -self.MAX_PACKETS]

    @rule(
        pid=st.sampled_from(["p1", "p2", "p3"]),
        namespace=st.sampled_from(["/", "/custom"]),
        rooms=ROOM_SETS,
    )
    def save_session(self, pid: str, namespace: str, rooms: frozenset[str]) -> None:
        session = StoredSession(f"sid-{pid}", pid, namespace, rooms, {"at": self.now}, self.now)
        self.store.save_session(session)
        self.sessions = [s for s in self.sessions if s.pid != pid] + [session]

    @rule(
        pid=st.sampled_from(["p1", "p2", "p3", "p4"]),
        offset_index=st.integers(min_value=0, max_value=50),
        namespace=st.sampled_from(["/", "/custom"]),
    )
    def restore(self, pid: str, offset_index: int, namespace: str) -> None:
        offset = self.offsets_seen[offset_index % len(self.offsets_seen)]
        expected = self.model_restore(pid, offset, namespace)
        actual = self.store.restore(pid, offset, self.now, namespace)
        if expected is None:
            assert actual is None
            return
        assert actual is not None
        session, missed = actual
        event("restored")
        assert session == expected[0]
        assert _offsets(missed) == expected[1]
        assert all(p is self.packet_objects[p.data[-1]] for p in missed)

    @precondition(lambda self: len(self.offsets_seen) > 1)
    @rule(pid=st.sampled_from(["p1", "p2", "p3"]), namespace=st.sampled_from(["/", "/custom"]))
    def restore_latest(self, pid: str, namespace: str) -> None:
        # The most useful offset (the newest) so that successful restores are common.
        self.restore(pid, len(self.offsets_seen) - 1, namespace)

    @rule()
    def expire(self) -> None:
        self.store.expire(self.now)
        self.model_expire(self.now)

    # -- invariants ----------------------------------------------------------------------

    @invariant()
    def sizes_agree(self) -> None:
        assert len(self.store) == len(self.packets)
        assert self.store.sessions == len(self.sessions)

    @invariant()
    def deadline_is_the_oldest_item(self) -> None:
        times = [p.at for p in self.packets] + [s.disconnected_at for s in self.sessions]
        expected = min(times) + self.MAX_DURATION if times else None
        assert self.store.next_deadline() == expected


RecoveryStoreMachine.TestCase.settings = settings(max_examples=100, stateful_step_count=30)
TestRecoveryStoreMachine = RecoveryStoreMachine.TestCase


@pytest.mark.slow
def test_recovery_store_machine_thorough() -> None:
    from hypothesis.stateful import run_state_machine_as_test

    run_state_machine_as_test(
        RecoveryStoreMachine, settings=settings(max_examples=2000, stateful_step_count=60)
    )
