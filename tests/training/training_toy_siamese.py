"""A toy Siamese tracker used to test the training harness end to end.

A three-layer conv net embeds a 32x32 template and a 64x64 search crop (stride 4),
``trackerzoo.ops.dw_xcorr`` correlates them channel-wise, and a 1x1 conv turns the
9x9 correlation into a centre heatmap trained with BCE against a Gaussian label. It
is the smallest model that must actually find the target in the search crop, so a
falling validation loss and centre error show that samplers, loss and loop work
together. It lives in the tests: it is not a tracker of the zoo.
"""

from __future__ import annotations

import dataclasses
import functools
import types
from typing import Any

import numpy as np
import torch
from torch import nn

from trackerzoo.labels import gaussian_center_labels
from trackerzoo.ops import dw_xcorr
from trackerzoo.patches import sample_patches, search_region_size
from trackerzoo.training import (
    CropSpec,
    PairSampler,
    Recipe,
    TrainConfig,
    apply_overrides,
    ope_evaluator,
)
from trackerzoo.training.losses import bce_loss

STRIDE = 4
MAP_OFFSET = 16.0  # patch x of score cell 0: the centre cell 4 of 9 sits at the patch centre 32


class ToySiamese(nn.Module):
    def __init__(self, channels: int = 24, dropout: float = 0.1) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 16, 3, stride=2, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
            nn.Conv2d(16, channels, 3, stride=2, padding=1), nn.BatchNorm2d(channels), nn.ReLU(),
            nn.Conv2d(channels, channels, 3, padding=1),
        )
        self.dropout = nn.Dropout2d(dropout)
        self.head = nn.Conv2d(channels, 1, 1)

    def forward(self, template: torch.Tensor, search: torch.Tensor) -> torch.Tensor:
        kernel = self.features(template - 0.5)
        correlation = dw_xcorr(self.features(search - 0.5), kernel)
        return self.head(self.dropout(correlation / kernel.shape[-1] ** 2))[:, 0]


@dataclasses.dataclass
class ToySettings(TrainConfig):
    steps: int = 150
    batch_size: int = 16
    lr: float = 3e-3
    val_every: int = 50
    val_batches: int = 4
    checkpoint_every: int = 50
    checkpoint_minutes: float | None = None
    label_sigma: float = 4.0
    center_jitter: float = 2.0
    max_gap: int = 8
    dropout: float = 0.1


class ToyTracker:
    """Tracks with a :class:`ToySiamese`: template from the first frame, search crop
    around the last box, box moved to the score peak (size kept)."""

    def __init__(self, model: nn.Module, device: torch.device) -> None:
        self.model = model
        self.device = device

    def _crop(self, frame: np.ndarray, box: np.ndarray, area_scale: float, size: int):
        image = torch.from_numpy(frame).permute(2, 0, 1)[None].to(self.device, torch.float32) / 255.0
        extent = search_region_size(torch.tensor(box[2:]), area_scale, size)
        center = torch.tensor(box[:2] + box[2:] / 2)
        return sample_patches(image, center[None], extent[None], (size, size))

    def initialize(self, frame: np.ndarray, box=None, mask=None) -> None:
        self.box = np.asarray(box, dtype=np.float64)
        self.template, _ = self._crop(frame, self.box, 2.0, 32)

    def track(self, frame: np.ndarray) -> types.SimpleNamespace:
        search, transform = self._crop(frame, self.box, 4.0, 64)
        scores = self.model(self.template, search)[0]
        peak = int(scores.argmax())
        row, col = divmod(peak, scores.shape[-1])
        patch_xy = torch.tensor([[col * STRIDE + MAP_OFFSET, row * STRIDE + MAP_OFFSET]], dtype=torch.float64)
        center = transform.patch_to_image(patch_xy)[0].cpu().numpy()
        self.box = np.concatenate([center - self.box[2:] / 2, self.box[2:]])
        return types.SimpleNamespace(box=tuple(self.box))


def center_error(scores: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
    """Mean distance (search px) between the score peak and the true target centre."""
    width = scores.shape[-1]
    peak = scores.reshape(scores.shape[0], -1).argmax(dim=1)
    peak_xy = torch.stack([peak % width, peak // width], dim=1).to(torch.float32) * STRIDE + MAP_OFFSET
    centers = boxes[:, :2] + 0.5 * boxes[:, 2:]
    return (peak_xy - centers).norm(dim=1).mean()


def compute_loss(
    model: nn.Module, batch: dict[str, torch.Tensor], *, label_sigma: float
) -> tuple[torch.Tensor, dict[str, float]]:
    scores = model(batch["template"], batch["search"])
    labels = gaussian_center_labels(batch["search_box"], tuple(scores.shape[-2:]), STRIDE, offset=MAP_OFFSET,
                                    sigma=label_sigma)
    loss = bce_loss(scores.float(), labels)
    return loss, {"center_error": float(center_error(scores.detach(), batch["search_box"]))}


def build_toy_recipe(
    train_sets: Any, val_sets: Any, overrides: dict[str, Any] | None = None, *, track_validation: bool = False
) -> Recipe:
    settings = apply_overrides(ToySettings(), overrides or {})
    template = CropSpec(output_size=(32, 32), area_scale=2.0, scale_jitter=0.05)
    search = CropSpec(output_size=(64, 64), area_scale=4.0, scale_jitter=0.1, center_jitter=settings.center_jitter)
    return Recipe(
        name="toy-siamese",
        config=settings,
        build_model=lambda: ToySiamese(dropout=settings.dropout),
        train_data=PairSampler(train_sets, template=template, search=search, max_gap=settings.max_gap,
                               seed=settings.seed, masks=False),
        val_data=PairSampler(val_sets, template=template, search=search, max_gap=settings.max_gap,
                             seed=settings.seed + 10_000, length=settings.val_batches * settings.batch_size,
                             masks=False),
        compute_loss=functools.partial(compute_loss, label_sigma=settings.label_sigma),
        evaluate=ope_evaluator(ToyTracker, val_sets) if track_validation else None,
        description="toy Siamese centre-heatmap model (tests only)",
    )
