import os

from hypothesis import HealthCheck, settings

# Deterministic property tests: the same examples on every run (no flaky CI).
settings.register_profile(
    "book", derandomize=True, deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "book"))
