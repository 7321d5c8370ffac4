"""RPVT's segmentation network (D3S ``SegmNet`` with a choice of refinement pathway).

``backbone`` (frozen, as D3S trains with ``extractor_grad=False``) gives four levels
(strides 2, 4, 8, 16). ``matching`` (GIM) compares the level-3 features of the search
crop with those of the reference crop under its mask; ``mixer`` (3x3 conv-BN-ReLU,
D3S's name) fuses [softmax foreground, foreground similarity, target-location channel]
into 64 channels; ``refinement`` (D3S or CSCR) decodes them to mask logits at the crop
resolution. Source: D3S ``ltr/models/segm/segm_net.py`` / ``segm.py``; RPVT Sec. 3-3.4.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from trackerzoo.nn.backbones import build_backbone, imagenet_normalize

from .matching import ForegroundBackgroundMatching
from .refinement import CSCRRefinement, D3SRefinement, conv_bn_relu, init_like_d3s

REFINEMENTS = ("d3s", "ms", "cscr")


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Architecture of one variant (fixed by its weights)."""

    backbone: str
    layers: tuple[str, str, str, str]  # levels 0..3 (strides 2, 4, 8, 16)
    input_dims: tuple[int, int, int, int]
    inter: tuple[int, int, int, int] = (4, 16, 32, 64)  # D3S segm_inter_dim
    segm_dim: tuple[int, int] = (64, 64)  # D3S segm_dim
    mixer_channels: int = 3  # softmax fg, fg similarity, location channel
    topk_pos: int = 3
    topk_neg: int = 3


MODEL_CONFIGS: dict[str, ModelConfig] = {
    "mobilenetv2": ModelConfig("mobilenetv2", ("stride2", "stride4", "stride8", "stride16"), (16, 24, 32, 96)),
    "resnet50": ModelConfig("resnet50", ("conv1", "layer1", "layer2", "layer3"), (64, 256, 512, 1024)),
}


class RpvtNet(nn.Module):
    """Backbone + GIM + mixer + refinement (``"d3s"``, ``"ms"`` or ``"cscr"``).

    Args:
        config: the variant's :class:`ModelConfig`.
        refinement: pathway; ``attention``/``fusion``: CSCR switches (ignored by ``"d3s"``).
        pretrained_backbone: load the ImageNet weights of ``weights/`` (training).

    Raises:
        ValueError: unknown ``refinement``.
    """

    def __init__(
        self,
        config: ModelConfig,
        refinement: str = "cscr",
        *,
        attention: bool = True,
        fusion: str = "weighted",
        pretrained_backbone: bool = False,
    ):
        super().__init__()
        if refinement not in REFINEMENTS:
            raise ValueError(f"refinement must be one of {REFINEMENTS}, got {refinement!r}")
        self.config, self.refinement_kind = config, refinement
        options: dict[str, Any] = {"style": "torchvision"} if config.backbone.startswith("resnet") else {}
        self.backbone = build_backbone(config.backbone, output_layers=list(config.layers),
                                       pretrained=pretrained_backbone, **options)
        self.backbone.requires_grad_(False)
        self.matching = ForegroundBackgroundMatching(config.input_dims[3], config.segm_dim,
                                                     config.topk_pos, config.topk_neg)
        self.mixer = conv_bn_relu(config.mixer_channels, config.inter[3])
        if refinement == "d3s":
            self.refinement: nn.Module = D3SRefinement(config.input_dims[:3], config.inter)
        else:
            self.refinement = CSCRRefinement(config.input_dims[:3], config.inter, mode=refinement,
                                             attention=attention, fusion=fusion)
        for part in (self.matching, self.mixer, self.refinement):
            init_like_d3s(part)

    def train(self, mode: bool = True) -> RpvtNet:
        """Train mode for the head; the frozen backbone stays in eval mode (fixed BatchNorm)."""
        super().train(mode)
        self.backbone.eval()
        return self

    def features(self, images: torch.Tensor) -> list[torch.Tensor]:
        """Backbone levels 0..3 of RGB images [B, 3, H, W] in [0, 1] (H, W multiples of 16)."""
        if images.dim() != 4 or images.shape[1] != 3:
            raise ValueError(f"images must be [B,3,H,W], got {tuple(images.shape)}")
        if images.shape[-1] % 16 or images.shape[-2] % 16:
            raise ValueError(f"image side must be a multiple of 16, got {tuple(images.shape[-2:])}")
        out = self.backbone(imagenet_normalize(images))
        return [out[name] for name in self.config.layers]

    def segment(
        self,
        search_features: list[torch.Tensor],
        reference_embedding: torch.Tensor,
        reference_mask: torch.Tensor,
        location: torch.Tensor,
    ) -> dict[str, torch.Tensor]:
        """Mask logits of the search crop (D3S ``SegmNet.forward``, after the backbone).

        Args:
            search_features: levels 0..3 of the search crop.
            reference_embedding: ``matching.embed`` of the reference level-3 features [B, 64, h, w].
            reference_mask: reference mask [B, 1, Hr, Wr] in [0, 1] (any size).
            location: target-location channel [B, 1, H, W] at the crop size (D3S: distance, px,
                to the estimated target centre).

        Returns:
            ``{"logits": [B, 2, H, W], "stages": [...]}``; channel 0 is the foreground.
        """
        search_embedding = self.matching.embed(search_features[3])
        fg, bg = self.matching(search_embedding, reference_embedding, reference_mask)
        fg_soft = torch.softmax(torch.stack((fg, bg), dim=-1), dim=-1)[..., 0]
        loc = F.interpolate(location, size=search_embedding.shape[-2:])
        mixed = self.mixer(torch.cat((fg_soft.unsqueeze(1), fg.unsqueeze(1), loc), dim=1))
        return self.refinement(mixed, search_features[:3])

    def forward(
        self,
        reference_images: torch.Tensor,
        reference_masks: torch.Tensor,
        search_images: torch.Tensor,
        location: torch.Tensor,
    ) -> dict[str, torch.Tensor]:
        """Training pass on crops [B, 3, H, W]: reference mask [B, 1, H, W], location [B, 1, H, W]."""
        with torch.no_grad():
            reference = self.features(reference_images)
            search = self.features(search_images)
        return self.segment(search, self.matching.embed(reference[3]), reference_masks, location)


def distance_map(size: tuple[int, int], centers: torch.Tensor) -> torch.Tensor:
    """D3S's target-location channel: Euclidean distance (px) of each pixel to a centre.

    Args:
        size: (H, W) of the crop.
        centers: [B, 2] (x, y) in crop pixels, pixel (i, j) at (j, i) as D3S's ``linspace(1, W) - 1``.

    Returns:
        [B, 1, H, W] float32.
    """
    h, w = size
    ys = torch.arange(h, dtype=torch.float32, device=centers.device)
    xs = torch.arange(w, dtype=torch.float32, device=centers.device)
    dx = xs.view(1, 1, w) - centers[:, 0].float().view(-1, 1, 1)
    dy = ys.view(1, h, 1) - centers[:, 1].float().view(-1, 1, 1)
    return torch.sqrt(dx * dx + dy * dy).unsqueeze(1)


# --------------------------------------------------------------------- checkpoint conversion
_OFFICIAL_RENAMES = (
    (re.compile(r"^feature_extractor\."), "backbone."),
    (re.compile(r"^segm_predictor\.(segment[01])\."), r"matching.\1."),
    (re.compile(r"^segm_predictor\.mixer\."), "mixer."),
    (re.compile(r"^segm_predictor\.((?:s|f|post)\d)\."), r"refinement.\1."),
)
# Official keys no part of RPVT uses: ResNet's layer4 and ImageNet head (D3S keeps them in the file).
_UNUSED_OFFICIAL = re.compile(r"^feature_extractor\.(layer4|fc)\.")


def d3s_checkpoint_filter(state_dict: dict[str, torch.Tensor], model: RpvtNet | None) -> dict[str, torch.Tensor]:
    """D3S ``SegmNet.pth.tar`` (ltr layout, ``net`` or plain) -> RPVT ``resnet50`` keys.

    With a ``"d3s"`` model the result is the whole state dict (strict). With a CSCR/MS model,
    backbone, matching, mixer and ``f0``..``f2`` come from the checkpoint and every other
    refinement key from ``model``'s current weights; the split is printed and stored in
    ``d3s_checkpoint_filter.last_report``.

    Raises:
        ValueError: no ``segm_predictor.`` keys, or an official key that has no place in RPVT.
    """
    sd = {k[4:] if k.startswith("net.") else k: v for k, v in state_dict.items()}
    if not any(k.startswith("segm_predictor.") for k in sd):
        raise ValueError(f"not a D3S SegmNet checkpoint: no 'segm_predictor.' keys (first: {sorted(sd)[:5]})")
    out: dict[str, torch.Tensor] = {}
    dropped = []
    for key, value in sd.items():
        if _UNUSED_OFFICIAL.match(key):
            dropped.append(key)
            continue
        for pattern, repl in _OFFICIAL_RENAMES:
            if pattern.match(key):
                new = pattern.sub(repl, key, count=1)
                break
        else:
            raise ValueError(f"D3S checkpoint key {key!r} has no counterpart in RPVT")
        out[new] = value
    ours = []
    if model is not None and model.refinement_kind != "d3s":
        own = model.state_dict()
        for key in [k for k in out if k.startswith("refinement.") and k not in own]:
            del out[key]  # s*, post* of D3S's pathway: not part of CSCR
        for key, value in own.items():
            if key not in out:
                out[key] = value.clone()
                ours.append(key)
    d3s_checkpoint_filter.last_report = {"from_checkpoint": sorted(k for k in out if k not in ours),
                                         "from_rpvt": sorted(ours), "dropped": sorted(dropped)}
    if ours:
        print(f"rpvt converter: {len(out) - len(ours)} keys from the D3S checkpoint, {len(ours)} CSCR keys "
              f"from RPVT's weights ({', '.join(sorted({k.split('.')[1] for k in ours}))}), "
              f"{len(dropped)} unused keys dropped (layer4, fc)")
    return out


d3s_checkpoint_filter.last_report = {}  # type: ignore[attr-defined]


def training_checkpoint_filter(state_dict: dict[str, torch.Tensor], model: RpvtNet | None) -> dict[str, torch.Tensor]:
    """A ``trackerzoo train rpvt`` checkpoint (``model.`` prefix) -> weight file keys."""
    return {k[6:] if k.startswith("model.") else k: v for k, v in state_dict.items()}
