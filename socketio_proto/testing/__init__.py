"""Testing aids for users of socketio_proto: hypothesis strategies (and, later, in-memory pairs)."""
