"""Shared helpers of the ops tests: which kernel backends to run, devices, tolerances."""

from __future__ import annotations

import pytest
import torch

from trackerzoo.ops import available_backends


def kernel_backends(op: str) -> list:
    """``cpu`` and ``cuda`` as pytest params, skipped when not built (CUDA also marked ``cuda``)."""
    built = available_backends()[op]
    return [
        pytest.param("cpu", marks=pytest.mark.skipif("cpu" not in built, reason="C++ kernel not built")),
        pytest.param(
            "cuda",
            marks=[pytest.mark.cuda, pytest.mark.skipif("cuda" not in built, reason="CUDA kernel not built")],
        ),
    ]


def device_of(backend: str) -> torch.device:
    return torch.device("cuda" if backend == "cuda" else "cpu")


def tolerances(dtype: torch.dtype) -> dict[str, float]:
    return {"rtol": 1e-4, "atol": 1e-4} if dtype == torch.float32 else {"rtol": 1e-9, "atol": 1e-9}


def non_contiguous(t: torch.Tensor) -> torch.Tensor:
    """The same values in a non-contiguous layout (a transposed copy transposed back)."""
    out = t.transpose(-1, -2).contiguous().transpose(-1, -2)
    assert not out.is_contiguous() or t.shape[-1] == 1 or t.shape[-2] == 1
    return out
