"""Hypothesis strategies for Engine.IO and Socket.IO packets.

Public so that users can property-test their own servers and handlers::

    from hypothesis import given
    from socketio_proto.testing import strategies as sps

    @given(sps.socketio_packets())
    def test_round_trip(packet): ...

Requires ``hypothesis`` (in the ``dev`` extra).
"""

from __future__ import annotations

from typing import Any, Literal

from hypothesis import strategies as st

from ..engineio.packet import EngineRevision
from ..engineio.packet import Packet as EnginePacket
from ..engineio.packet import PacketType as EngineType
from ..serialization import MAX_SAFE_INTEGER
from ..socketio.packet import RESERVED_EVENTS, Packet, PacketType, SocketIORevision

__all__ = [
    "ack_ids",
    "engineio_packets",
    "json_values",
    "namespaces",
    "socketio_packets",
]

_NO_SURROGATES: list[Literal["Cs"]] = ["Cs"]
_text = st.text(st.characters(exclude_categories=_NO_SURROGATES), max_size=20)

#: JSON scalars that survive a round trip through JavaScript unchanged.
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER),
    st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: f != int(f)),
    _text,
)


def json_values(*, binary: bool = False, max_leaves: int = 12) -> st.SearchStrategy[Any]:
    """Nested JSON-compatible values; with ``binary`` also ``bytes`` leaves."""
    leaves: st.SearchStrategy[Any] = json_scalars
    if binary:
        leaves = st.one_of(json_scalars, st.binary(max_size=32))
    return st.recursive(
        leaves,
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(_text, children, max_size=4),
        ),
        max_leaves=max_leaves,
    )


def namespaces() -> st.SearchStrategy[str]:
    """``/`` or a ``/name`` without commas."""
    name = st.text(
        st.characters(exclude_categories=_NO_SURROGATES, exclude_characters=",?"),
        min_size=1,
        max_size=12,
    )
    return st.one_of(st.just("/"), name.map(lambda s: "/" + s))


def ack_ids() -> st.SearchStrategy[int]:
    return st.integers(0, 10**15 - 1)


def event_names() -> st.SearchStrategy[str | int]:
    return st.one_of(
        _text.filter(lambda s: s not in RESERVED_EVENTS),
        st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER),
    )


def socketio_packets(
    *, revision: SocketIORevision = 5, binary: bool = True
) -> st.SearchStrategy[Packet]:
    """Valid Socket.IO packets, as decoders return them (EVENT/ACK, with ``bytes`` inside).

    Binary packets carry between 1 and 10 attachments (the default limit).
    """
    args = st.lists(json_values(binary=binary), max_size=4)
    maybe_id = st.one_of(st.none(), ack_ids())
    connect_data: st.SearchStrategy[Any] = (
        st.one_of(st.none(), st.dictionaries(_text, json_values(), max_size=3))
        if revision == 5
        else st.none()
    )
    error_data: st.SearchStrategy[Any] = (
        st.one_of(
            _text,
            st.fixed_dictionaries({"message": _text}, optional={"data": json_values()}),
        )
        if revision == 5
        # A bare number is ambiguous with an ack id, so revision 4 errors never carry one.
        else json_values().filter(lambda v: v is not None and not isinstance(v, int | float))
    )
    events = st.builds(
        lambda nsp, name, rest, ack: Packet(PacketType.EVENT, nsp, [name, *rest], ack),
        namespaces(),
        event_names(),
        args,
        maybe_id,
    )
    acks = st.builds(
        lambda nsp, rest, ack: Packet(PacketType.ACK, nsp, rest, ack),
        namespaces(),
        args,
        ack_ids(),
    )
    return st.one_of(
        st.builds(lambda nsp, d: Packet(PacketType.CONNECT, nsp, d), namespaces(), connect_data),
        st.builds(lambda nsp: Packet(PacketType.DISCONNECT, nsp), namespaces()),
        st.builds(
            lambda nsp, d: Packet(PacketType.CONNECT_ERROR, nsp, d), namespaces(), error_data
        ),
        events,
        acks,
    ).filter(_attachments_within_default_limit)


def _attachments_within_default_limit(packet: Packet) -> bool:
    count = 0
    stack = [packet.data]
    while stack:
        item = stack.pop()
        if isinstance(item, bytes):
            count += 1
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return count <= 10


def engineio_packets(revision: EngineRevision = 4) -> st.SearchStrategy[EnginePacket]:
    """Valid Engine.IO packets for ``revision`` (v4: binary only in MESSAGE).

    Text data never contains U+001E, which v4 polling payloads cannot carry.
    """
    text_data = st.text(
        st.characters(exclude_categories=_NO_SURROGATES, exclude_characters="\x1e"), max_size=30
    )
    text_packets = st.builds(EnginePacket, st.sampled_from(list(EngineType)), text_data)
    binary_types = [EngineType.MESSAGE] if revision == 4 else list(EngineType)
    binary_packets = st.builds(EnginePacket, st.sampled_from(binary_types), st.binary(max_size=30))
    return st.one_of(text_packets, binary_packets)
