"""Benchmarks, run with ``python -m socketio_proto bench <suite>``.

They are tools for humans: nothing in the test suite asserts timings.
"""
