"""Tests of :class:`~socketio_proto.socketio.rooms.Rooms`.

Unit tests of each operation, then a hypothesis state machine that runs random
join/leave/leave_all/close_room sequences against a naive model (a set of
``(sid, room)`` pairs) and checks every query after each step, and a property test
of ``targets`` with random rooms and excludes.  The alphabets are tiny so that
sockets and rooms collide often.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from socketio_proto.errors import LocalProtocolError
from socketio_proto.socketio.rooms import Rooms

SIDS = st.sampled_from(["s1", "s2", "s3", "s4"])
# Socket ids are rooms too: a socket's own room and foreign ones both come up.
ROOMS = st.sampled_from(["s1", "s2", "s3", "s4", "r1", "r2", "r3"])


def _populated() -> Rooms:
    rooms = Rooms()
    rooms.join("a", "a", "lobby", "red")
    rooms.join("b", "b", "lobby")
    rooms.join("c", "c", "red")
    return rooms


# -- unit tests --------------------------------------------------------------------


def test_empty() -> None:
    rooms = Rooms()
    assert len(rooms) == 0
    assert rooms.rooms == frozenset()
    assert rooms.sids == frozenset()
    assert rooms.members("x") == frozenset()
    assert rooms.rooms_of("x") == frozenset()
    assert rooms.targets() == set()
    assert "x" not in rooms
    assert repr(rooms) == "<Rooms: 0 sockets in 0 rooms>"


def test_join_registers_both_indexes() -> None:
    rooms = _populated()
    assert rooms.members("lobby") == {"a", "b"}
    assert rooms.members("red") == {"a", "c"}
    assert rooms.rooms_of("a") == {"a", "lobby", "red"}
    assert rooms.rooms == {"a", "b", "c", "lobby", "red"}
    assert rooms.sids == {"a", "b", "c"}
    assert len(rooms) == 3
    assert "a" in rooms
    assert "lobby" not in rooms  # a room, not a socket


def test_join_is_idempotent() -> None:
    rooms = _populated()
    rooms.join("a", "lobby", "lobby", "a")
    assert rooms.rooms_of("a") == {"a", "lobby", "red"}
    assert rooms.members("lobby") == {"a", "b"}


def test_join_without_rooms_registers_nothing() -> None:
    rooms = Rooms()
    rooms.join("a")
    assert "a" not in rooms
    assert len(rooms) == 0
    assert rooms.targets() == set()


def test_leave() -> None:
    rooms = _populated()
    rooms.leave("a", "lobby")
    assert rooms.members("lobby") == {"b"}
    assert rooms.rooms_of("a") == {"a", "red"}
    # Not a member, unknown room, unknown socket: no error, no change.
    rooms.leave("c", "lobby")
    rooms.leave("a", "nowhere")
    rooms.leave("z", "lobby")
    assert rooms.members("lobby") == {"b"}
    assert "z" not in rooms


def test_leave_deletes_empty_room_and_forgets_socket() -> None:
    rooms = Rooms()
    rooms.join("a", "x")
    rooms.leave("a", "x")
    assert rooms.rooms == frozenset()
    assert "a" not in rooms
    assert len(rooms) == 0


def test_leave_all() -> None:
    rooms = _populated()
    assert rooms.leave_all("a") == {"a", "lobby", "red"}
    assert "a" not in rooms
    assert rooms.rooms == {"b", "c", "lobby", "red"}
    assert rooms.members("red") == {"c"}
    assert rooms.leave_all("a") == frozenset()
    assert rooms.leave_all("b") == {"b", "lobby"}
    assert rooms.rooms == {"c", "red"}


def test_close_room() -> None:
    rooms = _populated()
    assert rooms.close_room("red") == {"a", "c"}
    assert "red" not in rooms.rooms
    assert rooms.rooms_of("a") == {"a", "lobby"}
    assert rooms.rooms_of("c") == {"c"}
    assert rooms.close_room("red") == frozenset()
    # Closing a socket's own room forgets the socket once it has no other room.
    assert rooms.close_room("c") == {"c"}
    assert "c" not in rooms
    assert len(rooms) == 2


def test_queries_return_snapshots() -> None:
    rooms = _populated()
    members = rooms.members("lobby")
    own = rooms.rooms_of("a")
    rooms.leave_all("a")
    assert members == {"a", "b"}
    assert own == {"a", "lobby", "red"}


def test_targets() -> None:
    rooms = _populated()
    assert rooms.targets() == {"a", "b", "c"}
    assert rooms.targets(["lobby"]) == {"a", "b"}
    assert rooms.targets(["lobby", "red"]) == {"a", "b", "c"}
    assert rooms.targets(["lobby", "nowhere"]) == {"a", "b"}
    assert rooms.targets(["nowhere"]) == set()
    assert rooms.targets(exclude=["a"]) == {"b", "c"}
    assert rooms.targets(["lobby"], exclude=["red"]) == {"b"}
    assert rooms.targets(["lobby", "red"], exclude=["b", "c"]) == {"a"}
    assert rooms.targets(["red"], exclude=["nowhere"]) == {"a", "c"}
    # Any iterable, consumed once.
    assert rooms.targets(iter(["lobby"]), exclude=(r for r in ["a"])) == {"b"}


def test_targets_returns_a_fresh_set() -> None:
    rooms = _populated()
    for result in (rooms.targets(), rooms.targets(["lobby"]), rooms.targets(["lobby", "red"])):
        result.add("intruder")
        result.discard("a")
    assert rooms.members("lobby") == {"a", "b"}
    assert rooms.sids == {"a", "b", "c"}
    assert rooms.targets(["lobby"]) == {"a", "b"}


def test_targets_excluding_a_room_larger_than_the_result() -> None:
    rooms = Rooms()
    for n in range(100):
        rooms.join(f"s{n}", f"s{n}", "everyone")
    rooms.join("s1", "small")
    rooms.join("s2", "small")
    rooms.join("x", "small")
    assert rooms.targets(["small"], exclude=["everyone"]) == {"x"}
    assert rooms.targets(["everyone"], exclude=["small"]) == {f"s{n}" for n in range(100)} - {
        "s1",
        "s2",
    }


BAD_NAMES: list[Any] = [None, 1, b"room", ("room",), ["room"]]


@pytest.mark.parametrize("bad", BAD_NAMES, ids=repr)
def test_names_must_be_str(bad: Any) -> None:
    rooms = _populated()
    calls: list[Callable[[], object]] = [
        lambda: rooms.join(bad, "room"),
        lambda: rooms.join("a", bad),
        lambda: rooms.leave(bad, "lobby"),
        lambda: rooms.leave("a", bad),
        lambda: rooms.leave_all(bad),
        lambda: rooms.close_room(bad),
        lambda: rooms.members(bad),
        lambda: rooms.rooms_of(bad),
        lambda: rooms.targets([bad]),
        lambda: rooms.targets(exclude=[bad]),
    ]
    for call in calls:
        with pytest.raises(LocalProtocolError, match="must be a str"):
            call()
    assert bad not in rooms


def test_join_is_all_or_nothing() -> None:
    rooms = Rooms()
    with pytest.raises(LocalProtocolError):
        rooms.join("a", "good", 3)  # type: ignore[arg-type]
    assert len(rooms) == 0
    assert rooms.rooms == frozenset()


def test_targets_refuses_a_bare_str() -> None:
    rooms = _populated()
    with pytest.raises(LocalProtocolError, match="not a str"):
        rooms.targets("lobby")
    with pytest.raises(LocalProtocolError, match="not a str"):
        rooms.targets(exclude="a")


# -- against a model -----------------------------------------------------------------


class RoomsMachine(RuleBasedStateMachine):
    """``Rooms`` against a set of ``(sid, room)`` pairs."""

    def __init__(self) -> None:
        super().__init__()
        self.rooms = Rooms()
        self.model: set[tuple[str, str]] = set()

    def model_members(self, room: str) -> set[str]:
        return {sid for sid, r in self.model if r == room}

    def model_rooms_of(self, sid: str) -> set[str]:
        return {room for s, room in self.model if s == sid}

    @rule(sid=SIDS, rooms=st.lists(ROOMS, max_size=3))
    def join(self, sid: str, rooms: list[str]) -> None:
        self.rooms.join(sid, *rooms)
        self.model |= {(sid, room) for room in rooms}

    @rule(sid=SIDS, room=ROOMS)
    def leave(self, sid: str, room: str) -> None:
        self.rooms.leave(sid, room)
        self.model.discard((sid, room))

    @rule(sid=SIDS)
    def leave_all(self, sid: str) -> None:
        expected = self.model_rooms_of(sid)
        assert self.rooms.leave_all(sid) == expected
        self.model -= {(sid, room) for room in expected}

    @rule(room=ROOMS)
    def close_room(self, room: str) -> None:
        expected = self.model_members(room)
        assert self.rooms.close_room(room) == expected
        self.model -= {(sid, room) for sid in expected}

    @rule(rooms=st.lists(ROOMS, max_size=3), exclude=st.lists(ROOMS, max_size=3))
    def targets(self, rooms: list[str], exclude: list[str]) -> None:
        included = (
            {sid for sid, _ in self.model}
            if not rooms
            else {sid for sid, room in self.model if room in rooms}
        )
        excluded = {sid for sid, room in self.model if room in exclude}
        assert self.rooms.targets(rooms, exclude) == included - excluded

    @invariant()
    def indexes_match_the_model(self) -> None:
        sids = {sid for sid, _ in self.model}
        room_names = {room for _, room in self.model}
        assert self.rooms.sids == sids
        assert self.rooms.rooms == room_names
        assert len(self.rooms) == len(sids)
        for sid in ["s1", "s2", "s3", "s4"]:
            assert (sid in self.rooms) == (sid in sids)
            assert self.rooms.rooms_of(sid) == self.model_rooms_of(sid)
        for room in ["s1", "s2", "s3", "s4", "r1", "r2", "r3"]:
            assert self.rooms.members(room) == self.model_members(room)
        assert self.rooms.targets() == sids

    @invariant()
    def no_empty_sets_left_behind(self) -> None:
        # White box: the memory of an idle namespace depends on it.
        assert all(self.rooms._members.values())
        assert all(self.rooms._rooms_of.values())


TestRoomsMachine = RoomsMachine.TestCase
TestRoomsMachine.settings = settings(max_examples=100, stateful_step_count=30, deadline=None)


@settings(max_examples=100, deadline=None)
@given(
    memberships=st.sets(st.tuples(SIDS, ROOMS), max_size=20),
    rooms=st.lists(ROOMS, max_size=4),
    exclude=st.lists(ROOMS, max_size=4),
)
def test_targets_property(
    memberships: set[tuple[str, str]], rooms: list[str], exclude: list[str]
) -> None:
    state = Rooms()
    for sid, room in memberships:
        state.join(sid, room)
    result = state.targets(rooms, exclude)
    for sid in {sid for sid, _ in memberships}:
        own = state.rooms_of(sid)
        wanted = (not rooms or bool(own & set(rooms))) and not own & set(exclude)
        assert (sid in result) == wanted
    assert result <= state.sids
