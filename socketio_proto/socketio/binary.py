"""Binary attachments: placeholders out, bytes back in.

An event whose data holds binary values travels as a text header in which
every binary value is replaced by ``{"_placeholder":true,"num":N}``, followed by
the N binary values as separate Engine.IO binary messages, in ``num`` order
(depth-first, arrays by index, objects in key order).
"""

from __future__ import annotations

from typing import Any

from ..errors import DecodeError, EncodeError

__all__ = ["deconstruct", "has_binary", "reconstruct"]

BINARY_TYPES = (bytes, bytearray, memoryview)
_CONTAINERS = (dict, list, tuple)  # a tuple of types: isinstance is faster than with a union


def has_binary(data: Any) -> bool:
    """Whether ``data`` contains a bytes-like value anywhere (cycles are walked once)."""
    stack = [data]
    seen: set[int] = set()
    while stack:
        item = stack.pop()
        if isinstance(item, BINARY_TYPES):
            return True
        if isinstance(item, _CONTAINERS):
            if id(item) in seen:
                continue
            seen.add(id(item))
            stack.extend(item.values() if isinstance(item, dict) else item)
    return False


def deconstruct(data: Any) -> tuple[Any, list[bytes]]:
    """Replace every bytes-like value by a placeholder; return the data and the attachments.

    Raises :class:`EncodeError` for circular or absurdly deep data.
    """
    attachments: list[bytes] = []
    path: set[int] = set()  # containers on the current path: a repeat is a cycle

    def walk(item: Any) -> Any:
        if isinstance(item, BINARY_TYPES):
            attachments.append(bytes(item))
            return {"_placeholder": True, "num": len(attachments) - 1}
        if not isinstance(item, _CONTAINERS):
            return item
        if id(item) in path:
            raise EncodeError("cannot encode a circular structure")
        path.add(id(item))
        if isinstance(item, dict):
            result: Any = {key: walk(value) for key, value in item.items()}
        else:
            result = [walk(value) for value in item]
        path.discard(id(item))
        return result

    try:
        return walk(data), attachments
    except RecursionError:
        raise EncodeError("data nested too deeply to encode") from None


def reconstruct(data: Any, attachments: list[bytes]) -> Any:
    """Put attachments back in place of their placeholders.

    A placeholder's ``num`` must be an integer within ``[0, len(attachments))``
    (CVE-2022-2421 came from trusting it).
    """
    count = len(attachments)

    def walk(item: Any) -> Any:
        if isinstance(item, dict):
            if item.get("_placeholder") is True:
                num = item.get("num")
                if type(num) is not int or not 0 <= num < count:
                    raise DecodeError(f"illegal attachment placeholder num {num!r}")
                return attachments[num]
            return {key: walk(value) for key, value in item.items()}
        if isinstance(item, list):
            return [walk(value) for value in item]
        return item

    try:
        return walk(data)
    except RecursionError:
        raise DecodeError("packet nesting too deep") from None
