"""Rooms as pure data: which sockets of one namespace are in which rooms.

One :class:`Rooms` per namespace, as in the JS ``Adapter``.  Every connected
socket is a member of the room named by its own socket id; the caller joins it
explicitly (JS: ``adapter.addAll(id, new Set([id]))``), so excluding a socket id
from a broadcast is just excluding a room.  A socket that is in no room is not
known at all: :meth:`Rooms.leave_all` is how a disconnecting socket is forgotten.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..errors import LocalProtocolError

__all__ = ["Rooms"]


def _check_name(value: object, what: str) -> None:
    if not isinstance(value, str):
        raise LocalProtocolError(f"{what} must be a str, not {type(value).__name__}")


def _room_names(rooms: Iterable[str], what: str) -> tuple[str, ...]:
    # A bare str is an iterable of one-letter room names: almost surely a mistake.
    if isinstance(rooms, str):
        raise LocalProtocolError(f"{what} must be an iterable of room names, not a str")
    names = tuple(rooms)
    for name in names:
        _check_name(name, "a room name")
    return names


class Rooms:
    """The room memberships of one namespace.

    Two indexes are kept in step: room -> member socket ids and socket id ->
    rooms.  Neither holds an empty set: a room exists while it has members and a
    socket is known while it is in a room.

    >>> from socketio_proto.socketio.rooms import Rooms
    >>> rooms = Rooms()
    >>> rooms.join("a", "a", "lobby")
    >>> rooms.join("b", "b", "lobby")
    >>> sorted(rooms.targets(["lobby"], exclude=["a"]))
    ['b']
    >>> sorted(rooms.leave_all("a"))
    ['a', 'lobby']
    >>> sorted(rooms.rooms)
    ['b', 'lobby']
    """

    __slots__ = ("_members", "_rooms_of")

    def __init__(self) -> None:
        self._members: dict[str, set[str]] = {}
        self._rooms_of: dict[str, set[str]] = {}

    def join(self, sid: str, *rooms: str) -> None:
        """Add socket ``sid`` to each of ``rooms`` (already a member: nothing happens)."""
        _check_name(sid, "a socket id")
        for room in rooms:
            _check_name(room, "a room name")
        if not rooms:
            return  # no empty set for a socket that joins nothing
        own = self._rooms_of.get(sid)
        if own is None:
            own = self._rooms_of[sid] = set()
        members = self._members
        for room in rooms:
            own.add(room)
            room_members = members.get(room)
            if room_members is None:
                members[room] = {sid}
            else:
                room_members.add(sid)

    def leave(self, sid: str, room: str) -> None:
        """Remove ``sid`` from ``room`` if it is a member; a room left empty is deleted."""
        _check_name(sid, "a socket id")
        _check_name(room, "a room name")
        room_members = self._members.get(room)
        if room_members is None or sid not in room_members:
            return
        room_members.discard(sid)
        if not room_members:
            del self._members[room]
        own = self._rooms_of[sid]
        own.discard(room)
        if not own:
            del self._rooms_of[sid]

    def leave_all(self, sid: str) -> frozenset[str]:
        """Remove ``sid`` from every room and forget it; return the rooms it was in."""
        _check_name(sid, "a socket id")
        own = self._rooms_of.pop(sid, None)
        if own is None:
            return frozenset()
        members = self._members
        for room in own:
            room_members = members[room]
            room_members.discard(sid)
            if not room_members:
                del members[room]
        return frozenset(own)

    def close_room(self, room: str) -> frozenset[str]:
        """Make every member leave ``room``; return the former members."""
        _check_name(room, "a room name")
        room_members = self._members.pop(room, None)
        if room_members is None:
            return frozenset()
        rooms_of = self._rooms_of
        for sid in room_members:
            own = rooms_of[sid]
            own.discard(room)
            if not own:
                del rooms_of[sid]
        return frozenset(room_members)

    def members(self, room: str) -> frozenset[str]:
        """The sockets in ``room`` (empty for an unknown room)."""
        _check_name(room, "a room name")
        return frozenset(self._members.get(room, ()))

    def rooms_of(self, sid: str) -> frozenset[str]:
        """The rooms ``sid`` is in (empty for an unknown socket)."""
        _check_name(sid, "a socket id")
        return frozenset(self._rooms_of.get(sid, ()))

    def targets(self, rooms: Iterable[str] = (), exclude: Iterable[str] = ()) -> set[str]:
        """The sockets a broadcast reaches: members of any of ``rooms`` (no rooms: every
        known socket), minus the members of any of the ``exclude`` rooms.

        A socket id names the socket's own room, so ``exclude=[sid]`` leaves out one
        socket.  The result is a fresh set the caller may change.
        """
        include = _room_names(rooms, "rooms")
        excluded = _room_names(exclude, "exclude")
        members = self._members
        if not include:
            result = set(self._rooms_of)
        elif len(include) == 1:
            result = set(members.get(include[0], ()))
        else:
            result = set()
            for room in include:
                room_members = members.get(room)
                if room_members:
                    result |= room_members
        for room in excluded:
            if not result:
                break
            room_members = members.get(room)
            if not room_members:
                continue
            # In-place removal costs len(room_members), a filtered copy len(result):
            # take the cheaper, so excluding a huge room from a small broadcast is cheap.
            if len(room_members) <= len(result):
                result -= room_members
            else:
                result = {sid for sid in result if sid not in room_members}
        return result

    @property
    def rooms(self) -> frozenset[str]:
        """Every room that has at least one member."""
        return frozenset(self._members)

    @property
    def sids(self) -> frozenset[str]:
        """Every socket that is in at least one room."""
        return frozenset(self._rooms_of)

    def __len__(self) -> int:
        """The number of known sockets."""
        return len(self._rooms_of)

    def __contains__(self, sid: object) -> bool:
        """Whether ``sid`` is a known socket (in at least one room)."""
        return isinstance(sid, str) and sid in self._rooms_of

    def __repr__(self) -> str:
        return f"<Rooms: {len(self._rooms_of)} sockets in {len(self._members)} rooms>"
