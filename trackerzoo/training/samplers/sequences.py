"""Short J-frame training sequences (RTS / LWL-style video training)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset as TorchDataset

from trackerzoo.training.samplers.crop import CropSpec, crop_frame
from trackerzoo.training.samplers.source import SequencePool


class SequenceSampler(TorchDataset):
    """Item ``i`` is ``num_frames`` frames of one sequence in increasing time order, all
    within ``max_gap`` of a random base frame, each cropped around its own jittered box.

    RTS trains on such a clip: the first frame initialises the target models, the
    following ones are tracked and supervised. Items are dicts: ``frames`` float
    [J, 3, h, w] in [0, 1], ``boxes`` [J, 4] (x, y, w, h) in crop pixels, ``masks``
    [J, 1, h, w] when masks are used, ``frame_indices`` [J]. Deterministic per
    ``(seed, i)`` as :class:`~trackerzoo.training.samplers.pairs.PairSampler`.
    """

    def __init__(
        self,
        datasets: Any | Sequence[Any],
        *,
        crop: CropSpec,
        num_frames: int = 3,
        max_gap: int = 100,
        seed: int = 0,
        length: int = 10_000,
        dataset_weights: Sequence[float] | None = None,
        masks: bool | None = None,
    ) -> None:
        if num_frames < 1:
            raise ValueError(f"num_frames must be >= 1, got {num_frames!r}")
        if max_gap < 0:
            raise ValueError(f"max_gap must be >= 0, got {max_gap!r}")
        if length < 1:
            raise ValueError(f"length must be >= 1, got {length!r}")
        self.pool = SequencePool(datasets, dataset_weights, require_masks=bool(masks))
        self.use_masks = self.pool.all_have_masks if masks is None else bool(masks)
        self.crop = crop
        self.num_frames = int(num_frames)
        self.max_gap = int(max_gap)
        self.seed = int(seed)
        self.length = int(length)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if index < 0:
            raise IndexError(f"sampler index must be >= 0, got {index}")
        rng = np.random.default_rng([self.seed, int(index)])
        sequence, frames = self.pool.draw_frames(rng, self.num_frames, self.max_gap)
        frames = np.sort(frames)
        crops = []
        for frame_index in frames:
            mask = sequence.mask(int(frame_index)) if self.use_masks else None
            if self.use_masks and mask is None:
                raise ValueError(f"sequence {sequence.name!r} has no mask for frame {int(frame_index)}")
            box = np.asarray(sequence.boxes[frame_index], dtype=np.float64)
            crops.append(crop_frame(sequence.frame(int(frame_index)), box, self.crop, rng, mask))
        item = {
            "frames": torch.stack([crop["image"] for crop in crops]),
            "boxes": torch.stack([crop["box"] for crop in crops]),
            "frame_indices": torch.from_numpy(frames),
        }
        if self.use_masks:
            item["masks"] = torch.stack([crop["mask"] for crop in crops])
        return item
