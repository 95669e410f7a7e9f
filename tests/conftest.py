"""Suite-wide settings: a small hypothesis profile under CI (``CI=true``), the default one elsewhere.

Tests that set ``@settings(max_examples=…)`` themselves keep their own number; the profile only bounds
the others and turns off the deadline, which a loaded two-core CI machine would trip without cause.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") == "true" else os.environ.get("HYPOTHESIS_PROFILE", "dev"))
