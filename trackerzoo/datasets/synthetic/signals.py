"""Smooth random signals: the raw material of every trajectory in a generated sequence.

Motion, scale, rotation, camera and illumination are all driven by Gaussian-filtered
white noise. Filtering gives a controllable correlation time (how long a motion keeps
its direction), and the whole signal is produced in one vectorised call, so a
300-frame trajectory costs microseconds and is fixed by the random generator state.
"""

from __future__ import annotations

import numpy as np


def gaussian_kernel(sigma: float) -> np.ndarray:
    radius = max(1, int(np.ceil(3.0 * sigma)))
    offsets = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-0.5 * (offsets / sigma) ** 2)
    return kernel / kernel.sum()


def smooth_noise(rng: np.random.Generator, length: int, correlation: float) -> np.ndarray:
    """Zero-start, unit-scale smooth noise of ``length`` samples.

    ``correlation`` is the filter's sigma in frames. The signal is shifted to start at
    0, so a trajectory ``start + amplitude * smooth_noise(...)`` begins exactly at
    ``start`` (the first frame is where the target is initialised, and must be known).
    """
    if length < 1:
        raise ValueError(f"signal length must be >= 1, got {length}")
    if correlation <= 0:
        raise ValueError(f"correlation must be > 0 frames, got {correlation}")
    kernel = gaussian_kernel(correlation)
    white = rng.standard_normal(length + kernel.size - 1)
    signal = np.convolve(white, kernel, mode="valid")
    # The filtered noise has std ||kernel||_2; rescale it to unit std.
    signal = signal / np.sqrt(np.sum(kernel**2))
    return signal - signal[0]


def bump(length: int, start: int, duration: int) -> np.ndarray:
    """A raised-cosine pulse from 0 up to 1 and back to 0 over ``duration`` frames.

    Used for excursions: a target pushed out of the view and brought back in along a
    smooth path, with the peak (fully outside) held for the middle third.
    """
    t = np.arange(length, dtype=np.float64)
    phase = np.clip((t - start) / max(duration, 1), 0.0, 1.0)
    ramp = np.clip(phase * 3.0, 0.0, 1.0) - np.clip(phase * 3.0 - 2.0, 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * ramp)


def smooth_step(length: int, start: int, duration: int) -> np.ndarray:
    """0 before ``start``, 1 after ``start + duration``, a cosine ramp in between."""
    t = np.arange(length, dtype=np.float64)
    phase = np.clip((t - start) / max(duration, 1), 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * phase)
