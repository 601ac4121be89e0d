"""Where handlers are registered and how an event finds its handler.

Lookup order for an event ``name`` on namespace ``ns`` (python-socketio's rules):

1. a handler for ``name`` registered on ``ns`` (or a class-based namespace's
   ``on_<name>`` method);
2. a handler for ``name`` on a dynamic namespace (regex or predicate) matching ``ns``;
3. a catch-all ``"*"`` event handler on ``ns`` / on a matching dynamic namespace
   -- it gets the event name first;
4. a handler for ``name`` on the catch-all namespace ``"*"`` -- it gets the
   namespace first; then ``"*"`` on ``"*"`` -- event name, then namespace.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .._fastinit import fast_init
from ..errors import LocalProtocolError
from ..socketio.server import NamespaceMatcher, namespace_matches

if TYPE_CHECKING:
    from .server import Server

__all__ = [
    "ConnectionRefused",
    "Handler",
    "HandlerRegistry",
    "Namespace",
    "NamespaceKey",
    "Resolved",
    "accepts_positional",
]

Handler = Callable[..., Any]
#: A namespace name, ``"*"`` (every namespace), a regex, or a predicate on names.
NamespaceKey = NamespaceMatcher

CATCH_ALL = "*"


class ConnectionRefused(Exception):
    """Raise from a connect middleware or handler to refuse the connection.

    The client gets a CONNECT_ERROR with ``message`` and ``data`` (revision 5),
    or ``data`` / ``message`` as a plain value (revision 4).
    """

    def __init__(self, message: str = "Connection refused", data: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.data = data


class Namespace:
    """Class-based handlers: ``on_<event>(self, sid, *args)`` methods for one namespace.

    ``on_connect(self, sid, auth)`` and ``on_disconnect(self, sid, reason)`` work
    like their decorator forms.  Once registered
    (:meth:`~socketio_proto.app.server.Server.register_namespace`),
    :attr:`server` is set, so methods can emit.
    """

    def __init__(self, namespace: str = "/") -> None:
        self.namespace = namespace
        self.server: Server | None = None

    def handler_for(self, event: str) -> Handler | None:
        """The bound ``on_<event>`` method, if the class defines one."""
        if not isinstance(event, str):
            return None
        handler = getattr(self, "on_" + event, None)
        return handler if callable(handler) else None

    def emit(self, event: str | int | float, *args: Any, **options: Any) -> None:
        """:meth:`~socketio_proto.app.server.Server.emit` on this namespace."""
        self._server().emit(event, *args, namespace=self.namespace, **options)

    def _server(self) -> Server:
        if self.server is None:
            raise LocalProtocolError(f"namespace {self.namespace} is not registered on a server")
        return self.server


@fast_init
@dataclass(frozen=True, slots=True)
class Resolved:
    """A handler and the extra leading arguments its kind of registration receives."""

    handler: Handler
    #: Prepended before ``sid``: the event name and/or the namespace for catch-alls.
    prefix: tuple[Any, ...] = ()


class HandlerRegistry:
    """Handlers by namespace and event."""

    def __init__(self) -> None:
        self._handlers: dict[str, dict[str | int | float, Handler]] = {}
        self._dynamic: list[tuple[NamespaceKey, dict[str | int | float, Handler]]] = []
        self._objects: dict[str, Namespace] = {}
        self._middlewares: dict[str, list[Handler]] = {}

    def add(self, event: str | int | float, handler: Handler, namespace: NamespaceKey) -> None:
        """Register ``handler`` for ``event`` (``"*"``: every event) on ``namespace``."""
        if not callable(handler):
            raise LocalProtocolError(f"handler for {event!r} is not callable: {handler!r}")
        self._table(namespace)[event] = handler

    def add_namespace(self, namespace: Namespace) -> None:
        """Register a class-based namespace (``"*"``: its methods get the namespace first)."""
        _check_name(namespace.namespace)
        self._objects[namespace.namespace] = namespace

    def add_middleware(self, middleware: Handler, namespace: str) -> None:
        """Run ``middleware(sid, auth, request)`` before connections to ``namespace``."""
        if not callable(middleware):
            raise LocalProtocolError(f"middleware is not callable: {middleware!r}")
        _check_name(namespace)
        self._middlewares.setdefault(namespace, []).append(middleware)

    def middlewares(self, namespace: str) -> list[Handler]:
        """The middlewares of ``namespace`` (those of ``"*"`` first), in registration order."""
        return [*self._middlewares.get(CATCH_ALL, ()), *self._middlewares.get(namespace, ())]

    def namespaces(self) -> list[NamespaceKey]:
        """Every namespace that has handlers (names, patterns, predicates, ``"*"``)."""
        names: list[NamespaceKey] = [*self._handlers, *self._objects, *self._middlewares]
        names.extend(key for key, _ in self._dynamic)
        return names

    def resolve(self, namespace: str, event: str | int | float) -> Resolved | None:
        """The handler for ``event`` on ``namespace``, following the module's lookup order."""
        objects = self._objects
        if not self._dynamic and namespace not in objects and CATCH_ALL not in objects:
            # The common case, first: a handler registered for this very event.
            table = self._handlers.get(namespace)
            handler = table.get(event) if table is not None else None
            if handler is not None:
                return Resolved(handler)
        if isinstance(event, str):
            for name, prefix in ((namespace, ()), (CATCH_ALL, (namespace,))):
                owner = self._objects.get(name)
                method = owner.handler_for(event) if owner is not None else None
                if method is not None:
                    return Resolved(method, prefix)
        tables = [self._handlers.get(namespace)]
        tables.extend(table for key, table in self._dynamic if namespace_matches(key, namespace))
        for table in tables:
            if table is not None and event in table:
                return Resolved(table[event])
        for table in tables:
            if table is not None and CATCH_ALL in table and not _is_lifecycle(event):
                return Resolved(table[CATCH_ALL], (event,))
        everywhere = self._handlers.get(CATCH_ALL)
        if everywhere is not None:
            if event in everywhere:
                return Resolved(everywhere[event], (namespace,))
            if CATCH_ALL in everywhere and not _is_lifecycle(event):
                return Resolved(everywhere[CATCH_ALL], (event, namespace))
        return None

    def _table(self, namespace: NamespaceKey) -> dict[str | int | float, Handler]:
        if isinstance(namespace, str):
            _check_name(namespace)
            return self._handlers.setdefault(namespace, {})
        if not (isinstance(namespace, re.Pattern) or callable(namespace)):
            raise LocalProtocolError(f"not a namespace, pattern or predicate: {namespace!r}")
        for key, existing in self._dynamic:
            if key == namespace:
                return existing
        table: dict[str | int | float, Handler] = {}
        self._dynamic.append((namespace, table))
        return table


def accepts_positional(handler: Handler, count: int) -> bool:
    """Whether ``handler`` can take ``count`` positional arguments."""
    try:
        signature = inspect.signature(handler)
    except (TypeError, ValueError):
        return True  # builtins without a signature: assume they can
    try:
        signature.bind(*range(count))
    except TypeError:
        return False
    return True


def _check_name(namespace: str) -> None:
    if not isinstance(namespace, str) or (namespace != CATCH_ALL and not namespace.startswith("/")):
        raise LocalProtocolError(f"namespace must start with '/' (or be '*'): {namespace!r}")


def _is_lifecycle(event: str | int | float) -> bool:
    # Catch-all *event* handlers get application events only, as in python-socketio.
    return event in ("connect", "disconnect")
