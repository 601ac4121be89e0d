"""The adapter: where a namespace's rooms live and where broadcasts fan out.

One adapter per namespace, as in the JS server.  The default
:class:`InMemoryAdapter` keeps a :class:`~socketio_proto.socketio.rooms.Rooms`
and delivers to the sockets of this process.  A cluster backend (Redis, ...)
subclasses :class:`Adapter` and, besides local delivery, forwards the same
operations to the other nodes; that is the only seam it needs.

Adapters never touch sockets or transports: they compute *which* local
sockets a packet goes to and hand the packet to the :class:`LocalNamespace`
the server gives them, which encodes it once and queues the same frames for
every target.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from .packet import Packet
from .rooms import Rooms

__all__ = ["Adapter", "BroadcastOptions", "InMemoryAdapter", "LocalNamespace"]


@dataclass(frozen=True, slots=True)
class BroadcastOptions:
    """Who a broadcast reaches and how (JS ``BroadcastOptions``)."""

    #: Sockets in any of these rooms (empty: every socket of the namespace).
    rooms: frozenset[str] = frozenset()
    #: Minus sockets in any of these rooms (a socket id is a room of its own).
    exclude: frozenset[str] = frozenset()
    #: Drop the packet for sockets whose transport cannot take it right now.
    volatile: bool = False
    #: Allow compressing the packet (polling bodies; WebSocket compression is per connection).
    compress: bool = True
    #: Only sockets of this process (a cluster adapter does not forward it).
    local: bool = False


class LocalNamespace(Protocol):
    """What the server offers the adapter of one of its namespaces."""

    @property
    def name(self) -> str:
        """The namespace, e.g. ``"/chat"``."""
        ...

    def deliver(self, sids: Iterable[str], packet: Packet, options: BroadcastOptions) -> None:
        """Encode ``packet`` once and queue it for every local socket in ``sids``."""
        ...

    def disconnect(self, sids: Iterable[str], close: bool) -> None:
        """Disconnect these local sockets (``close``: their Engine.IO sessions too)."""
        ...


class Adapter(ABC):
    """The operations a namespace performs on its rooms and broadcasts."""

    def __init__(self, namespace: LocalNamespace) -> None:
        self.namespace = namespace

    # -- membership ------------------------------------------------------------------------

    @abstractmethod
    def add_all(self, sid: str, rooms: Iterable[str]) -> None:
        """Socket ``sid`` joins ``rooms``."""

    @abstractmethod
    def remove(self, sid: str, room: str) -> None:
        """Socket ``sid`` leaves ``room``."""

    @abstractmethod
    def remove_all(self, sid: str) -> frozenset[str]:
        """Socket ``sid`` leaves every room (it disconnected); returns the rooms it was in."""

    @abstractmethod
    def socket_rooms(self, sid: str) -> frozenset[str]:
        """The rooms of local socket ``sid``."""

    @abstractmethod
    def sockets(self, options: BroadcastOptions) -> set[str]:
        """The local sockets ``options`` selects."""

    @abstractmethod
    def close_room(self, room: str) -> frozenset[str]:
        """Every socket leaves ``room``; returns the local sockets that were in it."""

    # -- fan-out -----------------------------------------------------------------------------

    def broadcast(self, packet: Packet, options: BroadcastOptions) -> None:
        """Send ``packet`` to every socket ``options`` selects."""
        self.namespace.deliver(self.sockets(options), packet, options)

    def broadcast_with_ack(self, packet: Packet, options: BroadcastOptions) -> set[str]:
        """Like :meth:`broadcast` for a packet with an ack id; returns the local targets.

        The server waits for one ACK from each returned socket.  A cluster
        adapter would also report how many remote sockets to expect.
        """
        targets = self.sockets(options)
        self.namespace.deliver(targets, packet, options)
        return targets

    def fetch_sockets(self, options: BroadcastOptions) -> set[str]:
        """The ids of the sockets ``options`` selects (local ones for this adapter)."""
        return self.sockets(options)

    def add_sockets(self, options: BroadcastOptions, rooms: Iterable[str]) -> None:
        """Make every selected socket join ``rooms``."""
        rooms = tuple(rooms)
        for sid in self.sockets(options):
            self.add_all(sid, rooms)

    def del_sockets(self, options: BroadcastOptions, rooms: Iterable[str]) -> None:
        """Make every selected socket leave ``rooms``."""
        rooms = tuple(rooms)
        for sid in self.sockets(options):
            for room in rooms:
                if room != sid:  # a socket keeps its own room
                    self.remove(sid, room)

    def disconnect_sockets(self, options: BroadcastOptions, close: bool) -> None:
        """Disconnect every selected socket (``close``: their Engine.IO sessions too)."""
        self.namespace.disconnect(self.sockets(options), close)

    def server_side_emit(self, event: str, args: list[object]) -> int:
        """Send an event to the other server nodes; returns how many were reached.

        A single process has no other nodes: the in-memory adapter reaches none.
        """
        return 0


class InMemoryAdapter(Adapter):
    """The default adapter: rooms in a :class:`Rooms`, delivery to this process only."""

    def __init__(self, namespace: LocalNamespace) -> None:
        super().__init__(namespace)
        self.rooms = Rooms()

    def add_all(self, sid: str, rooms: Iterable[str]) -> None:
        self.rooms.join(sid, *rooms)

    def remove(self, sid: str, room: str) -> None:
        self.rooms.leave(sid, room)

    def remove_all(self, sid: str) -> frozenset[str]:
        return self.rooms.leave_all(sid)

    def socket_rooms(self, sid: str) -> frozenset[str]:
        return self.rooms.rooms_of(sid)

    def sockets(self, options: BroadcastOptions) -> set[str]:
        return self.rooms.targets(options.rooms, options.exclude)

    def close_room(self, room: str) -> frozenset[str]:
        return self.rooms.close_room(room)
