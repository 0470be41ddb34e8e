"""A local Ray cluster on loopback for the Ray Data tests (one per session: it takes seconds)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

# Ray binds its services to the machine's address unless told the node is not a cluster
# member; tests stay on loopback. Read when ray is imported, so set before that.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")

import ray


@pytest.fixture(scope="session")
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
