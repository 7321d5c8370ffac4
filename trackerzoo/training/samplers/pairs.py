"""Template/search pairs for Siamese trackers (SiamFC, SiamRPN++, Ocean/ARN, IBFP, CRACT)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset as TorchDataset

from trackerzoo.training.samplers.crop import CropSpec, crop_frame
from trackerzoo.training.samplers.source import SequencePool


class PairSampler(TorchDataset):
    """Item ``i`` is a template crop and a search crop of the same target, from frames at
    most ``max_gap`` apart, drawn with ``numpy.random.default_rng([seed, i])``: the same
    ``(seed, i)`` always gives the same pair, whatever the worker or the resume point.

    Each item is a dict of tensors: ``template`` / ``search`` float [3, h, w] in [0, 1],
    ``template_box`` / ``search_box`` [4] (x, y, w, h) of the target in crop pixels,
    ``template_mask`` / ``search_mask`` [1, h, w] when masks are used, ``positive``
    (1.0, or 0.0 for a negative pair whose search crop shows another sequence's target,
    SiamRPN++-style), and ``frame_gap``.

    ``masks``: ``None`` uses masks when every sequence has them, ``True`` samples only
    sequences with masks, ``False`` never loads masks. ``length`` is what ``len()``
    reports (one virtual epoch); any non-negative index is valid.
    """

    def __init__(
        self,
        datasets: Any | Sequence[Any],
        *,
        template: CropSpec,
        search: CropSpec,
        max_gap: int = 100,
        seed: int = 0,
        length: int = 10_000,
        dataset_weights: Sequence[float] | None = None,
        masks: bool | None = None,
        negative_probability: float = 0.0,
    ) -> None:
        if max_gap < 0:
            raise ValueError(f"max_gap must be >= 0, got {max_gap!r}")
        if length < 1:
            raise ValueError(f"length must be >= 1, got {length!r}")
        if not 0.0 <= negative_probability <= 1.0:
            raise ValueError(f"negative_probability must be in [0, 1], got {negative_probability!r}")
        self.pool = SequencePool(datasets, dataset_weights, require_masks=bool(masks))
        self.use_masks = self.pool.all_have_masks if masks is None else bool(masks)
        self.template = template
        self.search = search
        self.max_gap = int(max_gap)
        self.seed = int(seed)
        self.length = int(length)
        self.negative_probability = float(negative_probability)

    def __len__(self) -> int:
        return self.length

    def _crop(self, sequence: Any, index: int, spec: CropSpec, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        mask = sequence.mask(index) if self.use_masks else None
        if self.use_masks and mask is None:
            raise ValueError(f"sequence {sequence.name!r} has no mask for frame {index}")
        return crop_frame(sequence.frame(index), np.asarray(sequence.boxes[index], dtype=np.float64), spec, rng, mask)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if index < 0:
            raise IndexError(f"sampler index must be >= 0, got {index}")
        rng = np.random.default_rng([self.seed, int(index)])
        sequence, (template_index, search_index) = self.pool.draw_frames(rng, 2, self.max_gap)
        positive = rng.random() >= self.negative_probability
        search_sequence = sequence
        if not positive:
            for _ in range(10):  # another sequence's target, unless there is only one sequence
                search_sequence, (search_index,) = self.pool.draw_frames(rng, 1, 0)
                if search_sequence is not sequence:
                    break
        template = self._crop(sequence, int(template_index), self.template, rng)
        search = self._crop(search_sequence, int(search_index), self.search, rng)
        item = {
            "template": template["image"],
            "template_box": template["box"],
            "search": search["image"],
            "search_box": search["box"],
            "positive": torch.tensor(1.0 if positive else 0.0),
            "frame_gap": torch.tensor(abs(int(search_index) - int(template_index)) if positive else -1),
        }
        if self.use_masks:
            item["template_mask"] = template["mask"]
            item["search_mask"] = search["mask"]
        return item
