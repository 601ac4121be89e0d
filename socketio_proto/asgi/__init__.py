"""Serve an application :class:`~socketio_proto.app.Server` from any ASGI server.

:class:`ASGIApp` is an ASGI 3 application: Socket.IO (HTTP long-polling and
WebSocket) at ``/socket.io/``, everything else -- other requests and the
``lifespan`` scope -- passed to the ASGI application it wraps, if any::

    from socketio_proto.asgi import ASGIApp
    from socketio_proto.demo import create_app

    app = ASGIApp(create_app())          # uvicorn module:app --ws wsproto

Or mounted under Starlette/FastAPI at any prefix (clients then use
``path: "/sio/socket.io"``)::

    api = FastAPI(lifespan=lifespan)     # lifespan: ``await sio.shutdown()`` on exit
    sio = ASGIApp(create_app())
    api.mount("/sio", sio)

See :mod:`socketio_proto.asgi.server` and the guide ``docs/asgi.rst``.
"""

from .server import ASGIApp, route_path

__all__ = ["ASGIApp", "route_path"]
