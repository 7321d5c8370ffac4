"""Run this area's tests single-threaded.

CI and the development machine have 2 cores shared by parallel jobs; with 2 intra-op
threads under contention, the first convolution of a ResNet can take seconds of
thread spinning, while one thread runs it in a fraction of a second.
"""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _single_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
