"""Connection state recovery as pure data (protocol.md 2.10).

The store keeps two things, both forgotten after ``max_disconnection_duration``:

* the sessions of sockets that left for a recoverable reason (sid, pid, rooms, data);
* every event emitted with an offset (no ack id, not volatile), with where it
  was sent, so a returning socket gets exactly what its rooms would have received.

Offsets are opaque strings; the store maps each to its position so a lookup is
O(1) and the replay walks only the newer packets.
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass
from typing import Any

from .adapter import BroadcastOptions
from .config import RecoveryConfig
from .packet import Packet

__all__ = ["RecoveryStore", "StoredPacket", "StoredSession"]


@dataclass(frozen=True, slots=True)
class StoredSession:
    """A disconnected socket, kept for recovery."""

    sid: str
    pid: str
    namespace: str
    rooms: frozenset[str]
    data: Any
    disconnected_at: float


@dataclass(frozen=True, slots=True)
class StoredPacket:
    """An emitted event, kept for replay.  Its data already ends with ``offset``."""

    offset: str
    packet: Packet
    options: BroadcastOptions
    emitted_at: float

    def reaches(self, namespace: str, rooms: frozenset[str]) -> bool:
        """Whether a socket of ``namespace`` in ``rooms`` would have received it (JS rules)."""
        if self.packet.namespace != namespace:
            return False
        wanted = self.options.rooms
        if wanted and wanted.isdisjoint(rooms):
            return False
        return self.options.exclude.isdisjoint(rooms)


class RecoveryStore:
    """Sessions and packets kept for recovery, expired by the ``now`` passed in."""

    def __init__(self, config: RecoveryConfig) -> None:
        self.config = config
        self._sessions: dict[str, StoredSession] = {}
        self._packets: deque[StoredPacket] = deque()
        # offset -> sequence number; packet n sits at index n - self._first_seq.
        self._positions: dict[str, int] = {}
        self._first_seq = 0
        self._seq = itertools.count()

    def __len__(self) -> int:
        return len(self._packets)

    @property
    def sessions(self) -> int:
        """How many sessions are kept."""
        return len(self._sessions)

    def store_packet(
        self, offset: str, packet: Packet, options: BroadcastOptions, now: float
    ) -> None:
        """Keep ``packet`` (whose last argument is ``offset``) for replay."""
        if len(self._packets) >= self.config.max_stored_packets:
            self._drop_oldest_packet()
        self._positions[offset] = next(self._seq)
        self._packets.append(StoredPacket(offset, packet, options, now))

    def save_session(self, session: StoredSession) -> None:
        """Keep a disconnected socket's state under its pid."""
        self._sessions.pop(session.pid, None)  # re-insert: the dict stays ordered by age
        self._sessions[session.pid] = session

    def restore(
        self, pid: str, offset: str, now: float, namespace: str
    ) -> tuple[StoredSession, list[Packet]] | None:
        """Take session ``pid`` of ``namespace`` back with the packets it missed after ``offset``.

        None (and nothing changes) if the session is unknown, of another
        namespace or expired, or the offset is no longer stored.  A restored
        session is removed: a pid is good for one recovery.
        """
        self.expire(now)
        session = self._sessions.get(pid)
        position = self._positions.get(offset)
        if session is None or position is None or session.namespace != namespace:
            return None
        if session.disconnected_at + self.config.max_disconnection_duration <= now:
            return None  # expire() trusts save order; a session's own age decides here
        del self._sessions[pid]
        missed = [
            stored.packet
            for stored in itertools.islice(self._packets, position - self._first_seq + 1, None)
            if stored.reaches(session.namespace, session.rooms)
        ]
        return session, missed

    def next_deadline(self) -> float | None:
        """When the oldest kept item expires."""
        due = []
        if self._packets:
            due.append(self._packets[0].emitted_at)
        if self._sessions:
            due.append(next(iter(self._sessions.values())).disconnected_at)
        return min(due) + self.config.max_disconnection_duration if due else None

    def expire(self, now: float) -> None:
        """Forget everything older than ``max_disconnection_duration`` at ``now``."""
        # The same sum as next_deadline(): "now - duration" rounds differently, and a
        # deadline that does not expire anything would be handed back forever.
        duration = self.config.max_disconnection_duration
        while self._packets and self._packets[0].emitted_at + duration <= now:
            self._drop_oldest_packet()
        sessions = self._sessions
        while sessions:
            pid, session = next(iter(sessions.items()))
            if session.disconnected_at + duration > now:
                break
            del sessions[pid]

    def _drop_oldest_packet(self) -> None:
        stored = self._packets.popleft()
        del self._positions[stored.offset]
        self._first_seq += 1
