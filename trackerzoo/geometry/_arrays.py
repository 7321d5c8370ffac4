"""Tiny numpy/torch dispatch so that box arithmetic is written once for both array types.

Trackers keep boxes as torch tensors on the device while evaluation code keeps them as
numpy arrays; duplicating every formula for each would let the two drift apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np
import torch

Array = TypeVar("Array", np.ndarray, torch.Tensor)


def as_array(values) -> np.ndarray | torch.Tensor:
    """Return tensors and arrays unchanged; turn lists/tuples into float64 numpy arrays."""
    if isinstance(values, (np.ndarray, torch.Tensor)):
        return values
    return np.asarray(values, dtype=np.float64)


def check_last_dim(values: np.ndarray | torch.Tensor, size: int, what: str) -> None:
    """Raise a ValueError naming ``what`` unless the trailing dimension has ``size`` entries."""
    if values.ndim == 0 or values.shape[-1] != size:
        raise ValueError(f"{what} must have a trailing dimension of {size}, got shape {tuple(values.shape)}")


def stack_last(parts: Sequence[Array]) -> Array:
    """Stack equally shaped arrays along a new last axis, keeping the array library."""
    if isinstance(parts[0], torch.Tensor):
        return torch.stack(list(parts), dim=-1)
    return np.stack(parts, axis=-1)


def clamp_min(values: Array, low: float) -> Array:
    if isinstance(values, torch.Tensor):
        return values.clamp(min=low)
    return np.maximum(values, low)


def minimum(a: Array, b: Array) -> Array:
    if isinstance(a, torch.Tensor):
        return torch.minimum(a, b)
    return np.minimum(a, b)


def maximum(a: Array, b: Array) -> Array:
    if isinstance(a, torch.Tensor):
        return torch.maximum(a, b)
    return np.maximum(a, b)


def where(cond, a: Array, b: Array) -> Array:
    if isinstance(a, torch.Tensor):
        return torch.where(cond, a, b)
    return np.where(cond, a, b)
