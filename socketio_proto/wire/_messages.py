"""Reassembling WebSocket messages from wsproto's fragments, within a size limit."""

from __future__ import annotations

from wsproto import events as ws_events


class MessageTooBig(Exception):
    """The message being reassembled exceeds the limit (close with 1009)."""


class MessageAssembler:
    """Collects the chunks of one message at a time; sizes count UTF-8 bytes.

    Chunks go into one growing buffer (text kept as UTF-8), so a flood of tiny
    fragments costs its bytes rather than an object per fragment; a message
    that arrives in one piece is passed through without a copy.
    """

    __slots__ = ("_parts", "limit")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._parts = bytearray()

    def add(self, event: ws_events.TextMessage | ws_events.BytesMessage) -> str | bytes | None:
        """Add one chunk; return the whole message once it is finished."""
        chunk = event.data
        data = chunk.encode("utf-8", "surrogatepass") if isinstance(chunk, str) else chunk
        if len(self._parts) + len(data) > self.limit:
            self._parts = bytearray()
            raise MessageTooBig
        if not event.message_finished:
            self._parts += data
            return None
        if not self._parts:
            return chunk if isinstance(chunk, str) else bytes(chunk)
        self._parts += data
        whole, self._parts = bytes(self._parts), bytearray()
        return whole.decode("utf-8", "surrogatepass") if isinstance(chunk, str) else whole
