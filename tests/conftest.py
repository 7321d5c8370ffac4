"""Shared fixtures. Entry-point autoload stays on: the suite tests the installed plugins."""

from __future__ import annotations

import numpy as np
import pytest
import torch


def pytest_collection_modifyitems(config, items):
    """Skip ``@pytest.mark.cuda`` tests cleanly when no CUDA device exists."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True, scope="session")
def single_torch_thread():
    """Run tests on one intra-op thread.

    Test tensors are tiny: on a 2-core CI machine with other work running, two threads
    made small ops hundreds of times slower through contention, never faster.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)
