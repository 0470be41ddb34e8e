"""A local Ray cluster on loopback for the Ray Data tests (one per module: it takes seconds, and
a cluster outliving its module would keep the environment its workers started with)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import ray

# tests/conftest.py keeps Ray on loopback (RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0).
assert os.environ.get("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER") == "0"


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[None]:
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
        _node_ip_address="127.0.0.1",
    )
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.print_on_execution_start = False
    try:
        yield
    finally:
        ray.shutdown()
