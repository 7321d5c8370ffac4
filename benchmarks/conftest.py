"""Benchmark configuration: results are stored per device and the device is in machine_info.

pytest-benchmark's machine id names the OS and Python but not the processor or the GPU, so
unless ``--benchmark-storage`` is given, results go to ``benchmarks/results/<device-slug>/``
(the GPU name when CUDA is available, else the CPU model) and are saved automatically.
``TRACKERZOO_BENCH_THREADS=N`` sets torch's intra-op threads (which the C++ kernels share);
the thread count is in machine_info and in the saved file's name.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import torch
from pytest_benchmark.utils import get_tag

from trackerzoo.ops.tune import cpu_model

RESULTS = Path(__file__).resolve().parent / "results"


def device_name() -> str:
    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else cpu_model()


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    threads = os.environ.get("TRACKERZOO_BENCH_THREADS")
    if threads:
        torch.set_num_threads(int(threads))
    option = config.option
    if getattr(option, "benchmark_storage", None) in (None, "file://./.benchmarks"):
        option.benchmark_storage = f"file://{RESULTS / slug(device_name())}"
        if not getattr(option, "benchmark_save", None):
            option.benchmark_autosave = f"{get_tag()}_threads{torch.get_num_threads()}"


def pytest_benchmark_update_machine_info(config, machine_info: dict) -> None:
    machine_info["device"] = device_name()
    machine_info["cpu_model"] = cpu_model()
    machine_info["gpu"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    machine_info["torch"] = torch.__version__
    machine_info["torch_threads"] = torch.get_num_threads()
    machine_info["cpu_count"] = os.cpu_count()
    # The load when the run started: a busy machine slows the multi-threaded reference most.
    machine_info["loadavg_at_start"] = list(os.getloadavg())
