"""Install pinned npm packages into a shared cache for interop tests.

The installer lives in the package, :mod:`socketio_proto.benchmarks.npm`, because the
server benchmarks (``python -m socketio_proto bench``) need it too; this module keeps
the tests' import path.  See there for the cache layout and locking.
"""

from __future__ import annotations

from socketio_proto.benchmarks.npm import (
    NodeToolchainError,
    cache_root,
    ensure_node_modules,
    node_executable,
)

__all__ = [
    "NodeToolchainError",
    "cache_root",
    "ensure_node_modules",
    "node_executable",
]
