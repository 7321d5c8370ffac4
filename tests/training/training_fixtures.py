"""Small in-memory sequences for the training tests: a textured square moving over a
textured background, with exact boxes and masks (the ground truth is known by
construction, so crop labels can be checked against it)."""

from __future__ import annotations

import numpy as np

from trackerzoo.datasets import Dataset, Sequence


def _texture(rng: np.random.Generator, height: int, width: int, cell: int) -> np.ndarray:
    """Blocky colour noise: random colours on a ``cell``-pixel grid, upsampled."""
    coarse = rng.integers(0, 256, size=(height // cell + 1, width // cell + 1, 3), dtype=np.uint8)
    return np.repeat(np.repeat(coarse, cell, axis=0), cell, axis=1)[:height, :width]


def moving_square_sequence(
    name: str,
    seed: int,
    *,
    length: int = 24,
    height: int = 120,
    width: int = 160,
    size_range: tuple[int, int] = (20, 36),
    invisible_frames: tuple[int, ...] = (),
) -> Sequence:
    rng = np.random.default_rng(seed)
    background = (_texture(rng, height, width, 8) // 2 + 40).astype(np.uint8)  # darker, so the target stands out
    side_w, side_h = (int(v) for v in rng.integers(*size_range, size=2))
    pattern = np.clip(_texture(rng, side_h, side_w, 4).astype(np.int32) // 2 + 128, 0, 255).astype(np.uint8)
    position = rng.uniform([0, 0], [width - side_w, height - side_h])
    velocity = rng.uniform(-4, 4, size=2)
    frames, boxes, masks = [], [], []
    for _ in range(length):
        x, y = (round(float(v)) for v in position)
        frame = background.copy()
        frame[y : y + side_h, x : x + side_w] = pattern
        mask = np.zeros((height, width), dtype=bool)
        mask[y : y + side_h, x : x + side_w] = True
        frames.append(frame)
        masks.append(mask)
        boxes.append([x, y, side_w, side_h])
        position = position + velocity
        for axis, limit in ((0, width - side_w), (1, height - side_h)):
            if not 0 <= position[axis] <= limit:
                velocity[axis] = -velocity[axis]
                position[axis] = min(max(position[axis], 0), limit)
    visible = np.ones(length, dtype=bool)
    visible[list(invisible_frames)] = False
    return Sequence(name, np.stack(frames), np.asarray(boxes, dtype=np.float64), masks=masks, visible=visible)


def moving_square_dataset(name: str, count: int, seed: int, **options) -> Dataset:
    return Dataset(name, [moving_square_sequence(f"{name}-{i}", seed * 1000 + i, **options) for i in range(count)])


def one_torch_thread():
    """Run a test with one intra-op thread (restored afterwards).

    These tensors are tiny: with the default thread count on a shared, loaded CI machine
    the threads mostly wait on each other, and a training step gets ~30x slower.
    """
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def procedural_dataset(name: str, count: int, seed: int, *, frames: tuple[int, int] = (24, 24),
                       frame_size: tuple[int, int] = (160, 120), object_size: tuple[float, float] = (60.0, 110.0),
                       **scene_options) -> Dataset:
    """``count`` sequences from the zoo's procedural generator (textured shapes over
    procedural backgrounds, no assets), rendered into memory."""
    from trackerzoo.datasets.synthetic import DatasetSpec, SceneConfig, generate_sequence

    config = SceneConfig(frame_size=frame_size, object_size=object_size, **scene_options)
    spec = DatasetSpec(sequences=count, frames=frames, seed=seed, procedural=True, config=config, prefix=name)
    sequences = []
    for index in range(count):
        _, rendered = generate_sequence(spec, index)
        truths = list(rendered)
        sequences.append(Sequence(
            spec.name_of(index),
            np.stack([truth.image for truth in truths]),
            np.stack([truth.box for truth in truths]),
            masks=[truth.mask for truth in truths],
            visible=np.array([truth.visible for truth in truths]),
        ))
    return Dataset(name, sequences)
