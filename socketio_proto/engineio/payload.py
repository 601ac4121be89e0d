"""Engine.IO payloads: the batches of packets carried by HTTP long-polling bodies.

* v4: text packets joined by ``\\x1e``; binary as ``b<base64>``.
* v3 text: ``<length>:<packet>`` entries, the length counted in UTF-16 code
  units (JavaScript's ``String.length``); binary as ``b<type><base64>``.
* v3 binary ("XHR2"): per entry a marker byte (0 text, 1 binary), the length
  as one byte per decimal digit, ``0xff``, then the packet bytes.
* JSONP (legacy polling): ``___eio[N]("<payload>");`` responses, ``d=`` bodies.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from urllib.parse import parse_qs

from ..errors import DecodeError, EncodeError
from ..limits import DEFAULT_LIMITS, Limits
from .packet import EngineRevision, Packet, decode_packet, encode_packet

__all__ = [
    "check_pollable_v4",
    "decode_jsonp_post",
    "decode_payload",
    "decode_payload_v3",
    "decode_payload_v3_binary",
    "decode_payload_v4",
    "encode_jsonp",
    "encode_payload",
    "encode_payload_v3",
    "encode_payload_v3_binary",
    "encode_payload_v4",
]

SEPARATOR = "\x1e"
# A length prefix longer than this cannot describe a body within any sane limit;
# refusing early keeps a hostile prefix from costing a big-int parse.
_MAX_LENGTH_DIGITS = 10
_DIGIT_VALUES = bytes.maketrans(b"0123456789", bytes(range(10)))
_DIGIT_CHARS = bytes.maketrans(bytes(range(10)), b"0123456789")


# -- v4 -----------------------------------------------------------------------------


def check_pollable_v4(packets: Iterable[Packet]) -> None:
    """Raise :class:`EncodeError` if a text packet holds U+001E, v4 polling's separator."""
    for packet in packets:
        if isinstance(packet.data, str) and SEPARATOR in packet.data:
            raise EncodeError(
                "an Engine.IO 4 text packet sent over polling cannot contain U+001E "
                "(the payload separator)"
            )


def encode_payload_v4(packets: Sequence[Packet]) -> str:
    """Join packets for a v4 polling body (binary as ``b<base64>``)."""
    check_pollable_v4(packets)
    parts: list[str] = []
    for packet in packets:
        text = encode_packet(packet, 4, base64=True)
        assert isinstance(text, str)  # base64=True always gives text
        parts.append(text)
    return SEPARATOR.join(parts)


def decode_payload_v4(body: str, limits: Limits = DEFAULT_LIMITS) -> list[Packet]:
    """Split and decode a v4 polling body.  An empty body is invalid (as in JS)."""
    limits.check("max_packets_per_payload", body.count(SEPARATOR) + 1)
    return [decode_packet(text, 4) for text in body.split(SEPARATOR)]


# -- v3 text ------------------------------------------------------------------------


def _utf16_length(text: str) -> int:
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def encode_payload_v3(packets: Sequence[Packet]) -> str:
    """Encode a v3 text payload; an empty batch is ``0:`` as in JS."""
    if not packets:
        return "0:"
    parts: list[str] = []
    for packet in packets:
        text = encode_packet(packet, 3, base64=True)
        assert isinstance(text, str)
        parts.append(f"{_utf16_length(text)}:{text}")
    return "".join(parts)


def decode_payload_v3(body: str, limits: Limits = DEFAULT_LIMITS) -> list[Packet]:
    """Decode a v3 text payload.  Zero-length entries are skipped; ``""`` is invalid."""
    if not body:
        raise DecodeError("empty payload")
    if body.isascii():
        return _decode_v3_entries(body, limits)
    # Lengths count UTF-16 code units: work on the UTF-16 form, where a slice
    # that splits a surrogate pair fails to decode instead of corrupting text.
    units = body.encode("utf-16-le", "surrogatepass")
    return _decode_v3_entries(units, limits)


def _decode_v3_entries(body: str | bytes, limits: Limits) -> list[Packet]:
    # ``body`` is either ASCII text (one char per unit) or UTF-16-LE bytes
    # (two bytes per unit); ``width`` converts unit offsets to indexes.
    is_text = isinstance(body, str)
    width = 1 if is_text else 2
    colon: str | bytes = ":" if is_text else ":\x00".encode("latin-1")
    total = len(body) // width
    packets: list[Packet] = []
    pos = 0
    while pos < total:
        end = body.find(colon, pos * width)  # type: ignore[arg-type]
        while end != -1 and end % width:
            end = body.find(colon, end + 1)  # type: ignore[arg-type]
        if end == -1:
            raise DecodeError("v3 payload entry without ':' after its length")
        digits_raw = body[pos * width : end]
        digits = (
            digits_raw
            if isinstance(digits_raw, str)
            else digits_raw.decode("utf-16-le", "surrogatepass")
        )
        if (
            not digits
            or len(digits) > _MAX_LENGTH_DIGITS
            or not digits.isdigit()
            or not digits.isascii()
        ):
            raise DecodeError(f"invalid v3 payload length {digits[:20]!r}")
        length = int(digits)
        start = end // width + 1
        if start + length > total:
            raise DecodeError("v3 payload length overruns the body")
        pos = start + length
        if length == 0:
            continue
        limits.check("max_packets_per_payload", len(packets) + 1)
        raw = body[start * width : pos * width]
        if isinstance(raw, str):
            text = raw
        else:
            try:
                text = raw.decode("utf-16-le")
            except UnicodeDecodeError:
                raise DecodeError("v3 payload length splits a character") from None
        packets.append(decode_packet(text, 3))
    return packets


# -- v3 binary (XHR2) ----------------------------------------------------------------


def encode_payload_v3_binary(packets: Iterable[Packet]) -> bytes:
    """Encode the v3 binary payload sent to polling clients that accept binary."""
    out = bytearray()
    for packet in packets:
        encoded = encode_packet(packet, 3)
        if isinstance(encoded, str):
            try:
                raw = encoded.encode("utf-8")
            except UnicodeEncodeError:
                raise EncodeError("text packets cannot contain lone surrogates") from None
            out.append(0)
        else:
            raw = encoded
            out.append(1)
        out += str(len(raw)).encode("ascii").translate(_DIGIT_VALUES)
        out.append(0xFF)
        out += raw
    return bytes(out)


def decode_payload_v3_binary(body: bytes, limits: Limits = DEFAULT_LIMITS) -> list[Packet]:
    """Decode a v3 binary payload (an empty body holds no packets)."""
    packets: list[Packet] = []
    view = memoryview(body)
    pos = 0
    total = len(body)
    while pos < total:
        marker = body[pos]
        if marker > 1:
            raise DecodeError(f"invalid v3 binary payload marker {marker}")
        end = body.find(b"\xff", pos + 1, pos + 2 + _MAX_LENGTH_DIGITS)
        if end == -1:
            raise DecodeError("v3 binary payload length not terminated by 0xff")
        digit_bytes = body[pos + 1 : end]
        if not digit_bytes or max(digit_bytes) > 9:
            raise DecodeError("invalid v3 binary payload length")
        length = int(digit_bytes.translate(_DIGIT_CHARS))
        start = end + 1
        pos = start + length
        if pos > total:
            raise DecodeError("v3 binary payload length overruns the body")
        limits.check("max_packets_per_payload", len(packets) + 1)
        chunk = view[start:pos]
        if marker == 0:
            try:
                text = str(chunk, "utf-8")
            except UnicodeDecodeError:
                raise DecodeError("v3 binary payload text entry is not UTF-8") from None
            packets.append(decode_packet(text, 3))
        else:
            packets.append(decode_packet(bytes(chunk), 3))
    return packets


# -- dispatch ------------------------------------------------------------------------


def encode_payload(
    packets: Sequence[Packet], revision: EngineRevision, *, supports_binary: bool = False
) -> tuple[str | bytes, str]:
    """Encode a polling response body; returns ``(body, content_type)``.

    v3 peers that accept binary (no ``b64`` query parameter) get the binary
    format when the batch holds binary data, as the JS server does.
    """
    if revision == 4:
        return encode_payload_v4(packets), "text/plain; charset=UTF-8"
    if supports_binary and any(packet.is_binary for packet in packets):
        return encode_payload_v3_binary(packets), "application/octet-stream"
    return encode_payload_v3(packets), "text/plain; charset=UTF-8"


def decode_payload(
    body: bytes,
    revision: EngineRevision,
    *,
    content_type: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> list[Packet]:
    """Decode a polling request body as received (bytes), applying every limit.

    ``content_type`` is the request's ``Content-Type``: v3 peers may post the
    binary format as ``application/octet-stream``; v4 never does, so a v4
    octet-stream body is rejected.
    """
    limits.check("max_payload_bytes", len(body))
    is_binary = (content_type or "").split(";")[0].strip().lower() == "application/octet-stream"
    if is_binary:
        if revision == 4:
            raise DecodeError("Engine.IO 4 polling bodies are never application/octet-stream")
        return decode_payload_v3_binary(body, limits)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise DecodeError("polling body is not valid UTF-8") from None
    if revision == 4:
        return decode_payload_v4(text, limits)
    return decode_payload_v3(text, limits)


# -- JSONP ---------------------------------------------------------------------------


def encode_jsonp(payload: str, index: str) -> str:
    """Wrap a text payload for a JSONP polling response: ``___eio[N]("...");``.

    Non-digits are stripped from ``index`` (the ``j`` query parameter), as the
    JS server does, so it cannot inject script.
    """
    digits = "".join(c for c in index if c in "0123456789")
    literal = json.dumps(payload, ensure_ascii=False)
    literal = literal.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return f"___eio[{digits}]({literal});"


def decode_jsonp_post(body: bytes, *, form: bool = True) -> str:
    """Extract the payload text of a JSONP polling POST.

    Form bodies carry it in the ``d`` field.  The old clients escaped newlines
    before posting; undo that: ``\\n`` becomes a newline, ``\\\\n`` stays a
    backslash followed by ``n``.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise DecodeError("JSONP body is not valid UTF-8") from None
    if form:
        fields = parse_qs(text, keep_blank_values=True)
        if "d" not in fields:
            raise DecodeError("JSONP form body without a 'd' field")
        text = fields["d"][0]
    return _unescape_jsonp_newlines(text)


def _unescape_jsonp_newlines(text: str) -> str:
    if "\\n" not in text:
        return text
    out: list[str] = []
    i = 0
    while i < len(text):
        if text.startswith("\\\\n", i):
            out.append("\\n")
            i += 3
        elif text.startswith("\\n", i):
            out.append("\n")
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)
