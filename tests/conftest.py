"""Shared test configuration: hypothesis profiles.

``HYPOTHESIS_PROFILE=thorough`` runs many more examples (used with ``-m slow``
soaks); the default profile keeps the whole suite within a few minutes on 2 cores.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "default",
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "thorough",
    max_examples=5000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
