"""Small network helpers the adapters share."""

from __future__ import annotations

import errno

__all__ = ["bind_error"]


def bind_error(exc: OSError, host: str, port: int) -> OSError:
    """A clearer :class:`OSError` for a failed bind (same errno, so callers can still test it)."""
    if exc.errno == errno.EADDRINUSE:
        reason = "the address is already in use (another server on that port? pick another)"
    elif exc.errno == errno.EACCES:
        reason = "permission denied (ports below 1024 need privileges)"
    elif exc.errno == errno.EADDRNOTAVAIL:
        reason = "that address is not available on this machine"
    else:
        reason = exc.strerror or str(exc)
    return OSError(exc.errno, f"cannot listen on {host}:{port}: {reason}")
