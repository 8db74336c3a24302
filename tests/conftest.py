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

# Under `pytest -n 2` two workers share the two cores, and each may run a notebook kernel (the
# notebook tests, the site build's executor): one OpenMP/BLAS thread per kernel, so that two
# kernels do not oversubscribe the cores. Kernels inherit this environment. (The 300 s stalls
# first blamed on this came from kernels colliding on TCP ports: see tools/execute_notebooks.py.)
if int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1:
    for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[_var] = "1"


def pytest_collection_modifyitems(config, items):
    """tests/test_privacy.py scans the site that tests/test_site.py builds: run those scans last
    (both are in the xdist group "site", so they run on one worker, in this order)."""
    late = [item for item in items if item.nodeid.startswith("tests/test_privacy.py::test_public_sites")]
    items[:] = [item for item in items if item not in late] + late
