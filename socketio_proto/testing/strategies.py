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
from ..limits import Limits
from ..serialization import MAX_SAFE_INTEGER
from ..socketio.packet import RESERVED_EVENTS, Packet, PacketType, SocketIORevision

__all__ = [
    "ack_ids",
    "engineio_packets",
    "engineio_payloads",
    "json_values",
    "limits",
    "mutated_bytes",
    "mutated_text",
    "namespaces",
    "socketio_packets",
    "wire_text",
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
    """Ack ids within the default 15-digit limit."""
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


#: Characters that stress the text codecs: separators of every format, digits,
#: JSON punctuation, JS line terminators, and non-BMP characters (two UTF-16 units).
_TRICKY_CHARS = (
    '0123456789:-,/?b[]{}"\\ \n\r\t\x00\x1e\x7f\u00e9\u20ac\u2028\u2029\ufeff'
    "\U0001f600\U0001d11e\U0010ffff"
)


def wire_text(
    *, min_size: int = 0, max_size: int = 30, exclude: str = ""
) -> st.SearchStrategy[str]:
    """Text without lone surrogates, biased towards the characters that matter on the wire.

    Mixes arbitrary code points with ASCII digits, the separators of every
    payload format (``:``, ``-``, ``,``, U+001E), JSON punctuation, U+2028/U+2029
    and astral characters (whose UTF-16 length is 2).
    """
    tricky = [c for c in _TRICKY_CHARS if c not in exclude]
    alphabet = st.one_of(
        st.sampled_from(tricky),
        st.characters(exclude_categories=_NO_SURROGATES, exclude_characters=exclude),
    )
    return st.text(alphabet, min_size=min_size, max_size=max_size)


def engineio_payloads(
    revision: EngineRevision = 4, *, min_size: int = 1, max_size: int = 8
) -> st.SearchStrategy[list[EnginePacket]]:
    """Batches of packets a polling payload of ``revision`` can carry.

    Revision 4 payloads cannot be empty (``""`` is invalid) and their text
    cannot contain U+001E; revision 3 text may hold any character.
    """
    if revision == 4:
        packets = engineio_packets(4)
        min_size = max(min_size, 1)
    else:
        packets = st.one_of(
            engineio_packets(3),
            st.builds(EnginePacket, st.sampled_from(list(EngineType)), wire_text()),
        )
    return st.lists(packets, min_size=min_size, max_size=max_size)


def limits(*, max_value: int = 64) -> st.SearchStrategy[Limits]:
    """Small random :class:`~socketio_proto.Limits`, so that tests can hit every bound."""
    field = st.integers(1, max_value)
    return st.builds(
        Limits,
        max_payload_bytes=st.integers(1, max_value * 32),
        max_packets_per_payload=field,
        max_attachments=st.integers(1, 16),
        max_ack_id_digits=st.integers(1, 24),
        max_json_depth=field,
    )


_TEXT_NOISE = st.one_of(
    st.sampled_from([*_TRICKY_CHARS, "-1", "_placeholder", '"num":', "true", "null"]),
    st.integers(0, 10**20).map(str),
    st.text(max_size=3),
)
_BYTE_NOISE = st.one_of(
    st.sampled_from([b"\x00", b"\x01", b"\x04", b"\x09", b"\xff", b"\xc0", b"\x80", b"4", b":"]),
    st.integers(0, 10**12).map(lambda n: str(n).encode("ascii")),
    st.binary(max_size=3),
)


@st.composite
def _mutate_text(draw: st.DrawFn, base: st.SearchStrategy[str]) -> str:
    text = draw(base)
    for _ in range(draw(st.integers(1, 3))):
        size = len(text)
        op = draw(st.sampled_from(("truncate", "delete", "insert", "replace", "duplicate")))
        if op == "truncate":
            text = text[: draw(st.integers(0, size))]
        elif op == "insert":
            at = draw(st.integers(0, size))
            text = text[:at] + draw(_TEXT_NOISE) + text[at:]
        elif size:
            at = draw(st.integers(0, size - 1))
            end = draw(st.integers(at + 1, min(size, at + 8)))
            if op == "delete":
                text = text[:at] + text[end:]
            elif op == "replace":
                text = text[:at] + draw(_TEXT_NOISE) + text[end:]
            else:
                text = text[:end] + text[at:end] + text[end:]
    return text


@st.composite
def _mutate_bytes(draw: st.DrawFn, base: st.SearchStrategy[bytes]) -> bytes:
    data = bytearray(draw(base))
    for _ in range(draw(st.integers(1, 3))):
        size = len(data)
        op = draw(st.sampled_from(("truncate", "delete", "insert", "flip", "duplicate")))
        if op == "truncate":
            del data[draw(st.integers(0, size)) :]
        elif op == "insert":
            at = draw(st.integers(0, size))
            data[at:at] = draw(_BYTE_NOISE)
        elif size:
            at = draw(st.integers(0, size - 1))
            if op == "flip":
                data[at] ^= 1 << draw(st.integers(0, 7))
            else:
                end = draw(st.integers(at + 1, min(size, at + 8)))
                data[at:end] = b"" if op == "delete" else data[at:end] * 2
    return bytes(data)


def mutated_text(base: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Near-valid text: values of ``base`` truncated, cut, spliced or with separators inserted."""
    return _mutate_text(base)


def mutated_bytes(base: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    """Near-valid bytes: values of ``base`` truncated, cut, bit-flipped or spliced."""
    return _mutate_bytes(base)
