"""Short/long-term sample memory for binary classifiers updated online (MDNet's policy).

Positives are kept long (the target's appearance from the last ``long_term_frames``
frames, plus the first frame's for the whole sequence: it is the only sample known to
be right); negatives are kept short (the background of the last ``short_term_frames``
frames), because the background changes faster than the target and stale negatives
mislead. Source: MDNet (Nam & Han, CVPR 2016), Sec. 3.3 "long-term and short-term
updates"; CRACT (Fan & Ling) adopts it for its online discriminator.

Compare :class:`trackerzoo.learners.SampleMemory` (fixed capacity, first samples kept,
recency weights with a learning-rate decay), the policy of ATOM, DiMP and LWL.
"""

from __future__ import annotations

import dataclasses

import torch


@dataclasses.dataclass
class SampleSet:
    """The samples of one frame: ``features`` [K, D] with binary ``labels`` [K] (1 = target)."""

    frame: int
    features: torch.Tensor
    labels: torch.Tensor


class ShortLongMemory:
    """Per-frame sample sets; the first frame's positives never expire.

    ``long_term_frames`` (positives) and ``short_term_frames`` (negatives) are window
    lengths in frames; a set of frame ``f`` is used at frame ``t`` while ``t - f`` is
    below the window. Raises ``ValueError`` for windows below one frame.
    """

    def __init__(self, long_term_frames: int, short_term_frames: int) -> None:
        for name, value in (("long_term_frames", long_term_frames), ("short_term_frames", short_term_frames)):
            if int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        self.long_term_frames = int(long_term_frames)
        self.short_term_frames = int(short_term_frames)
        self.initial: SampleSet | None = None
        self.recent: list[SampleSet] = []

    def reset(self, initial: SampleSet) -> None:
        """Start a sequence: ``initial`` holds the first frame's samples."""
        self.initial = initial
        self.recent = []

    def add(self, samples: SampleSet) -> None:
        """Store one frame's samples and forget sets older than both windows."""
        self.recent.append(samples)
        horizon = max(self.long_term_frames, self.short_term_frames)
        self.recent = [s for s in self.recent if samples.frame - s.frame < horizon]

    def training_set(self, frame: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(features [M, D], labels [M], weights [M])`` for an update at ``frame``, positives first.

        Weights are balanced per class (each class sums to 0.5), so the few positives are
        not outvoted by the many negatives and the scores stay calibrated around 0/1.
        When no recent set holds a negative, the first frame's negatives are used.
        Raises ``ValueError`` before :meth:`reset`.
        """
        if self.initial is None:
            raise ValueError("the sample memory is empty: reset() it with the first frame's samples first")
        positives, negatives = [], []
        for samples in [self.initial, *self.recent]:
            age = frame - samples.frame
            is_positive = samples.labels > 0.5
            if samples is self.initial or age < self.long_term_frames:
                positives.append(samples.features[is_positive])
            if age < self.short_term_frames:
                negatives.append(samples.features[~is_positive])
        if sum(n.shape[0] for n in negatives) == 0:
            negatives.append(self.initial.features[self.initial.labels <= 0.5])
        pos = torch.cat(positives)
        neg = torch.cat(negatives)
        features = torch.cat((pos, neg))
        labels = torch.cat((torch.ones(pos.shape[0]), torch.zeros(neg.shape[0]))).to(features)
        weights = torch.cat((
            torch.full((pos.shape[0],), 0.5 / max(pos.shape[0], 1)),
            torch.full((neg.shape[0],), 0.5 / max(neg.shape[0], 1)),
        )).to(features)
        return features, labels, weights
