"""The discriminator's life during a sequence: first-frame fit, sample collection, updates.

- First frame: 200 positives and 1000 negatives around the target (shared out among the
  crop and its augmented copies); all layers (conv and fc) fitted by 6 Gauss-Newton
  steps of 10 CG iterations (ATOM's schedule).
- Every K frames, when the track is confident: 50 positives and 200 negatives, the
  negatives mined hard (the distractor proposals of the frame first, then the
  highest-scoring of a larger random pool); then the fc layers only are refitted by
  one Gauss-Newton step of 5 CG iterations on the short-long memory.

Both learners are the core's: ``trackerzoo.learners.gauss_newton_fit`` (matrix-free: the
discriminator gives ``J v`` and ``J^T u`` in closed form) and ``trackerzoo.learners.ShortLongMemory`` (MDNet's
short/long-term windows).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from trackerzoo.learners import SampleSet, ShortLongMemory, gauss_newton_fit
from trackerzoo.nn.seeding import draws_from
from trackerzoo_cract.model.discriminator import Discriminator
from trackerzoo_cract.model.pyramid import PyramidFeatures, PyramidRoiPooling
from trackerzoo_cract.online.sampling import distractor_boxes, negative_boxes, positive_boxes
from trackerzoo_cract.params import CractParams, ModelConfig


class OnlineDiscriminator:
    def __init__(
        self,
        config: ModelConfig,
        params: CractParams,
        pooling: PyramidRoiPooling,
        device: torch.device,
        generator: torch.Generator,
    ) -> None:
        self.params = params
        self.pooling = pooling
        self.generator = generator
        # Initial weights from a generator of its own at ``seed`` (the values torch.manual_seed(seed)
        # would give), never from torch's global state: thread-safe, independent of the caller.
        with draws_from(torch.Generator().manual_seed(params.seed)):
            self.network = Discriminator(
                config.fused_channels, pooling.positions, config.discriminator_conv_channels,
                config.discriminator_hidden,
            ).to(device)
        self.memory = ShortLongMemory(params.long_term_frames, params.short_term_frames)
        self.device = device

    def _pool(self, phi34: torch.Tensor, boxes: torch.Tensor) -> PyramidFeatures:
        boxes = boxes.to(phi34.device, phi34.dtype)
        return self.pooling(phi34, boxes, torch.zeros(boxes.shape[0], dtype=torch.long, device=phi34.device))

    def initialize(self, phi34_views: Sequence[torch.Tensor], target: torch.Tensor, region_size: float,
                   distractors: torch.Tensor | None = None) -> list[float]:
        """Fit every layer on first-frame samples; return Eq. 8 after each Gauss-Newton step.

        ``phi34_views`` are the features of the first-frame crop and of its augmented copies
        (``online.augmentation``), all with the target at ``target``. The paper's 200
        positives and 1000 negatives are shared out among the views, so the fit's size
        (and cost) does not grow with the augmentation. ``distractors`` (boxes of the first
        crop, not overlapping the target) turn up to ``init_distractor_negatives`` (at most
        half) of the first view's negatives into hard ones: jittered copies of the other objects of
        the scene, the ones the target will be confused with later.
        """
        p = self.params
        level_batches: list[PyramidFeatures] = []
        labels, weights = [], []
        for index, (view, (positives, negatives)) in enumerate(
                zip(phi34_views, self._shares(len(phi34_views)), strict=True)):
            hard = torch.zeros(0, 4)
            if index == 0 and distractors is not None:
                budget = min(p.init_distractor_negatives, negatives // 2)  # the rest stays background
                hard = distractor_boxes(distractors, target, budget, p.negative_iou, self.generator)
            boxes = torch.cat((
                positive_boxes(target, positives, p.positive_iou, self.generator),
                hard,
                negative_boxes(target, negatives - hard.shape[0], p.negative_iou, region_size, self.generator),
            ))
            with torch.no_grad():
                level_batches.append(tuple(level.detach() for level in self._pool(view, boxes)))
            labels.append(torch.cat((torch.ones(positives), torch.zeros(negatives))))
            weights.append(torch.cat((
                torch.full((positives,), 0.5 / p.init_positives),
                torch.full((negatives,), 0.5 / p.init_negatives),
            )))
        features = tuple(torch.cat(levels) for levels in zip(*level_batches, strict=True))
        label_vector = torch.cat(labels).to(features[0])
        history = gauss_newton_fit(
            self.network, features, label_vector, torch.cat(weights).to(features[0]),
            reg=self.network.regularization(features, p.discriminator_reg, p.discriminator_conv_reg),
            gauss_newton_iters=p.init_gauss_newton_iters, cg_iters=p.init_cg_iters,
        )
        with torch.no_grad():
            self.memory.reset(SampleSet(frame=0, features=self.network.project(features), labels=label_vector))
        return history

    def _shares(self, views: int) -> list[tuple[int, int]]:
        """(positives, negatives) drawn from each view; the first view takes the remainders."""
        p = self.params
        shares = [(p.init_positives // views, p.init_negatives // views) for _ in range(views)]
        shares[0] = (p.init_positives - (views - 1) * shares[0][0], p.init_negatives - (views - 1) * shares[0][1])
        return shares

    @torch.no_grad()
    def score(self, features: PyramidFeatures) -> torch.Tensor:
        """tau~ of Eq. 7, clipped to [0, 1] so that it mixes with a probability in Eq. 9."""
        return self.network(features).clamp(0.0, 1.0)

    @torch.no_grad()
    def collect(self, phi34: torch.Tensor, target: torch.Tensor, distractors: torch.Tensor, region_size: float,
                frame: int) -> None:
        """Store ``n+`` positives and ``n-`` hard negatives of the current frame."""
        p = self.params
        positives = positive_boxes(target, p.update_positives, p.positive_iou, self.generator)
        pool = negative_boxes(target, p.hard_negative_pool * p.update_negatives, p.negative_iou, region_size,
                              self.generator)
        pool_projected = self.network.project(self._pool(phi34, pool))
        hardest = torch.argsort(self.network.classify(pool_projected), descending=True)
        distractor_projected = self.network.project(self._pool(phi34, distractors))[: p.update_negatives]
        fill = p.update_negatives - distractor_projected.shape[0]
        negatives = torch.cat((distractor_projected, pool_projected[hardest[:fill]]))
        projected = torch.cat((self.network.project(self._pool(phi34, positives)), negatives))
        labels = torch.cat((torch.ones(positives.shape[0]), torch.zeros(negatives.shape[0]))).to(projected)
        self.memory.add(SampleSet(frame=frame, features=projected, labels=labels))

    def update(self, frame: int) -> list[float]:
        """Refit the two fc layers on the memory (one Gauss-Newton step)."""
        projected, labels, weights = self.memory.training_set(frame)
        return gauss_newton_fit(
            self.network, projected, labels, weights, reg=self.params.discriminator_reg,
            gauss_newton_iters=1, cg_iters=self.params.update_cg_iters,
        )
