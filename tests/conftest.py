import os

from hypothesis import HealthCheck, settings

# Deterministic property tests: the same examples on every run (no flaky CI).
settings.register_profile(
    "book", derandomize=True, deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "book"))

# The tensors of the unit tests are tiny: intra-op threads only add synchronisation
# (measured: a 3-token table model's training step takes 2.4 ms on one thread and
# 43 ms on two on the 2-core CI machine).
import torch

torch.set_num_threads(1)
