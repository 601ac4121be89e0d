"""Shared test configuration: hypothesis profiles.

``HYPOTHESIS_PROFILE=thorough`` runs many more examples (used with ``-m slow``
soaks); the default profile keeps the whole suite within a few minutes on 2 cores.
``.ci/run`` selects ``ci``: the default budget, derandomized, so a landing never
hinges on which examples a run happened to draw (random runs and soaks find new
cases; each one found becomes a regression test).
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
    "ci",
    max_examples=200,
    deadline=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "thorough",
    max_examples=5000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
