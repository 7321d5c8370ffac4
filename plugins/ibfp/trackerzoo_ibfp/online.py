"""IBFP's online branch (Sec. III-E, IV-A c): an ATOM classifier on the layer4 level.

The paper adds "an online branch of four convolutional layers" trained as in ATOM and
refers to ATOM for the details. We take ATOM's classifier as it is: a 1x1 projection of
the layer4 features to 64 channels followed by one filter, fitted on the first frame by
Gauss-Newton / conjugate gradient (6 x 10), then only the filter is refitted (5 CG steps)
on a weighted sample memory every ``update_interval`` frames or on a hard negative. Both
learners are the core's (``trackerzoo.learners.GaussNewtonDCFLearner``, ``SampleMemory``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from trackerzoo.labels import gaussian_label_map
from trackerzoo.learners import GaussNewtonDCFLearner, SampleMemory
from trackerzoo_ibfp.params import IbfpParams


class OnlineBranch:
    """The per-sequence online classifier: ``initialize`` (first frame), then ``scores``, ``remember``, ``update``."""

    def __init__(self, params: IbfpParams, stride: float, generator: torch.Generator) -> None:
        self.params = params
        self.stride = float(stride)  # of the layer4 map, crop pixels per cell
        self.generator = generator
        self.learner = GaussNewtonDCFLearner(
            params.online_filter_size, projection_dim=params.online_projection, filter_reg=params.online_filter_reg,
            projection_reg=params.online_projection_reg, init_gn_iters=params.init_gauss_newton_iters,
            init_cg_iters=params.init_cg_iters, update_cg_iters=params.update_cg_iters,
            update_interval=params.update_interval, backend=params.ops_backend,
        )
        self.memory = SampleMemory(params.memory_size, params.memory_learning_rate)

    def label(self, centres: torch.Tensor, target_size: torch.Tensor, map_size: tuple[int, int]) -> torch.Tensor:
        """Gaussian labels ``[N, 1, h, w]`` at target centres ``[N, 2]`` (crop pixels) of a target ``[2]`` (w, h)."""
        sigma = self.params.online_sigma_factor * float(torch.sqrt(target_size[0] * target_size[1])) / self.stride
        return gaussian_label_map(centres / self.stride, sigma, map_size)

    def initialize(self, features: torch.Tensor, centres: torch.Tensor, target_size: torch.Tensor) -> None:
        """First-frame fit on ``features`` ``[N, C, h, w]`` of N views whose targets sit at ``centres`` ``[N, 2]``."""
        features = features.float()
        labels = self.label(centres, target_size, tuple(features.shape[-2:])).to(features)
        self.learner.initialize(features, labels, generator=self.generator)
        self.memory.initialize({"x": self.learner.project(features), "y": labels})

    def scores(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Online response ``[1, 1, h, w]`` of a search map ``[1, C, h, w]`` and its projected features."""
        projected = self.learner.project(features.float())
        return self.learner.scores(projected), projected

    def remember(self, projected: torch.Tensor, centre: torch.Tensor, target_size: torch.Tensor) -> None:
        """Add one frame's projected features ``[1, D, h, w]`` with the label at ``centre`` ``[2]`` (crop pixels)."""
        label = self.label(centre[None], target_size, tuple(projected.shape[-2:])).to(projected)
        self.memory.insert({"x": projected[0], "y": label[0]})

    def update(self) -> None:
        """Refit the filter on the memory (a few warm-started CG steps)."""
        memory = self.memory
        self.learner.update(memory["x"], memory["y"], memory.weights)

    def is_hard_negative(self, response: torch.Tensor) -> bool:
        """True when a peak away from the maximum reaches ``hard_negative_ratio`` of it (ATOM's distractor test)."""
        scores = response[0, 0]
        peak = scores.max()
        if not bool(peak > 0):
            return False
        row, col = divmod(int(torch.argmax(scores)), scores.shape[1])
        masked = scores.clone()
        radius = max(1, self.params.online_filter_size // 2)
        masked[max(0, row - radius):row + radius + 1, max(0, col - radius):col + radius + 1] = float("-inf")
        return bool(masked.max() >= self.params.hard_negative_ratio * peak)


def upsample_to(response: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize of a response ``[1, 1, h, w]`` to ``size`` (the head's map): cells stay centre-aligned."""
    return F.interpolate(response, size=size, mode="bilinear", align_corners=False)
