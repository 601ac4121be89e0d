"""Reassembling WebSocket messages from wsproto's fragments, within a size limit."""

from __future__ import annotations

from wsproto import events as ws_events


class MessageTooBig(Exception):
    """The message being reassembled exceeds the limit (close with 1009)."""


class MessageAssembler:
    """Collects the chunks of one message at a time; sizes count UTF-8 bytes."""

    __slots__ = ("_binary", "_size", "_text", "limit")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._text: list[str] = []
        self._binary: list[bytes] = []
        self._size = 0

    def add(self, event: ws_events.TextMessage | ws_events.BytesMessage) -> str | bytes | None:
        """Add one chunk; return the whole message once it is finished."""
        chunk = event.data
        if isinstance(chunk, str):
            self._size += len(chunk.encode("utf-8", "surrogatepass"))
            self._text.append(chunk)
        else:
            self._size += len(chunk)
            self._binary.append(bytes(chunk))
        if self._size > self.limit:
            self._text, self._binary, self._size = [], [], 0
            raise MessageTooBig
        if not event.message_finished:
            return None
        self._size = 0
        if isinstance(chunk, str):
            text, self._text = "".join(self._text), []
            return text
        binary, self._binary = b"".join(self._binary), []
        return binary
