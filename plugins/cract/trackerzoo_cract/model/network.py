"""The offline-trained part of CRACT wired together: features, RPN, CRAC regression and identifier.

The online discriminator is not part of this module: it is fitted per sequence by the
tracker and never saved with the weights.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import torch
from torch import nn

from trackerzoo_cract.model import anchors as anchor_ops
from trackerzoo_cract.model.features import FeatureMaps, SharedFeatures, centre_crop
from trackerzoo_cract.model.heads import BoxRegressor, Identifier
from trackerzoo_cract.model.pyramid import PyramidFeatures, PyramidRoiPooling, select
from trackerzoo_cract.model.rpn import RpnOutput, SiameseRpn
from trackerzoo_cract.params import ModelConfig


@dataclasses.dataclass
class TemplateEmbedding:
    """What a sequence keeps of its first frame: RPN kernels, ``phi34(z)`` and ``f_init`` (Eq. 2)."""

    kernels: tuple[torch.Tensor, torch.Tensor]
    initial: PyramidFeatures


@dataclasses.dataclass
class Refinement:
    """Output of the CRAC cascade for ``K`` proposals."""

    offsets: torch.Tensor  # r_i of Eq. 3, [K, 4]
    boxes: torch.Tensor  # p~_i of Eq. 4 (cxcywh), [K, 4]
    features: PyramidFeatures  # f~_i of Eq. 5 (or f_i when alignment is switched off)
    identity_logits: torch.Tensor  # nu~_i of Eq. 6, [K, 2]


@dataclasses.dataclass
class ProposalBatch:
    """Proposals of a training batch: boxes (cxcywh, search pixels), their pair, what they train."""

    boxes: torch.Tensor  # [K, 4]
    batch_index: torch.Tensor  # [K]
    for_regression: torch.Tensor  # [K] bool
    for_identification: torch.Tensor  # [K] bool


@dataclasses.dataclass
class TrainingOutputs:
    """Everything the offline losses need from one forward pass over template/search pairs."""

    rpn: RpnOutput
    anchors: torch.Tensor  # [A*S*S, 4]
    proposals: ProposalBatch
    refinement: Refinement


ProposalSampler = Callable[[torch.Tensor, RpnOutput], ProposalBatch]


class CractNet(nn.Module):
    """Siamese RPN + CRAC (regression -> alignment -> identification) on one shared backbone."""

    def __init__(self, config: ModelConfig, *, pretrained_backbone: bool = False) -> None:
        super().__init__()
        self.config = config
        self.features = SharedFeatures(config, pretrained_backbone=pretrained_backbone)
        self.rpn = SiameseRpn(config.neck_channels, config.num_anchors)
        self.pooling = PyramidRoiPooling(config.pyramid_levels, config.stride)
        positions = self.pooling.positions
        self.regressor = BoxRegressor(config.fused_channels, positions, config.head_conv_channels, config.head_hidden)
        self.identifier = Identifier(config.fused_channels, positions, config.head_conv_channels, config.head_hidden)
        self.register_buffer(
            "anchor_shapes",
            anchor_ops.anchor_shapes(config.stride, config.anchor_ratios, config.anchor_scales),
            persistent=False,
        )

    def set_backend(self, backend: str) -> None:
        """Backend of ``trackerzoo.ops`` used by the correlation and the RoI pooling."""
        self.rpn.set_backend(backend)
        self.pooling.backend = backend

    # -- template branch -------------------------------------------------------------------
    def embed_template(self, template_images: torch.Tensor, target_boxes: torch.Tensor) -> TemplateEmbedding:
        """Kernels of the RPN and ``f_init = PRoIAlign(phi34(z), b_1)`` (Eq. 2).

        ``target_boxes`` ``[B, 4]`` are cxcywh in pixels of the template crops.
        """
        return self.embed_template_maps(self.features(template_images), target_boxes)

    def embed_template_maps(self, maps: FeatureMaps, target_boxes: torch.Tensor) -> TemplateEmbedding:
        """``embed_template`` from the template crops' features (e.g. of an inference-prepared backbone)."""
        kernels = self.rpn.kernels(centre_crop(maps.phi4, self.config.template_feature_size))
        batch_index = torch.arange(maps.phi34.shape[0], device=maps.phi34.device)
        return TemplateEmbedding(kernels=kernels, initial=self.pooling(maps.phi34, target_boxes, batch_index))

    # -- search branch ---------------------------------------------------------------------
    def search_features(self, search_images: torch.Tensor) -> FeatureMaps:
        return self.features(search_images)

    def propose(self, kernels: tuple[torch.Tensor, torch.Tensor], maps: FeatureMaps) -> RpnOutput:
        return self.rpn(kernels, maps.phi4)

    def anchors(self, score_size: int, search_size: int) -> torch.Tensor:
        """Anchors ``[A*S*S, 4]`` (cxcywh, search-crop pixels) matching ``RpnOutput.flat_*``."""
        grid = anchor_ops.anchor_grid(score_size, search_size, self.config.stride, self.anchor_shapes.cpu())
        return grid.reshape(-1, 4).to(self.anchor_shapes.device)

    def refine(
        self,
        phi34: torch.Tensor,
        proposals: torch.Tensor,
        batch_index: torch.Tensor,
        initial: PyramidFeatures,
        *,
        align: bool = True,
    ) -> Refinement:
        """The CRAC cascade (Eqs. 1 and 3-6) for proposals ``[K, 4]`` of images ``batch_index``.

        ``initial`` holds ``f_init`` of every image of the batch; row ``batch_index[k]``
        is the one proposal ``k`` is compared with.
        """
        initial_rows = select(initial, batch_index)
        proposal_features = self.pooling(phi34, proposals, batch_index)  # Eq. 1
        offsets = self.regressor(proposal_features, initial_rows)  # Eq. 3
        refined = anchor_ops.decode(offsets, proposals)  # Eq. 4
        # Eq. 5; without alignment this is the "parallel refinement" ablation of Table 7.
        features = self.pooling(phi34, refined, batch_index) if align else proposal_features
        identity_logits = self.identifier(features, initial_rows)  # Eq. 6
        return Refinement(offsets=offsets, boxes=refined, features=features, identity_logits=identity_logits)

    # -- offline training -----------------------------------------------------------------
    def forward(
        self,
        template_images: torch.Tensor,
        template_boxes: torch.Tensor,
        search_images: torch.Tensor,
        sample_proposals: ProposalSampler,
        *,
        align: bool = True,
    ) -> TrainingOutputs:
        """One training pass over ``B`` pairs: RPN on all anchors, CRAC on sampled proposals.

        ``sample_proposals(anchors, rpn_output)`` picks the proposals (from the detached RPN
        output and the ground truth it has bound); doing it inside ``forward`` keeps the
        whole pass one module call, as data-parallel training needs.
        """
        template_maps = self.features(template_images)
        search_maps = self.features(search_images)
        kernels = self.rpn.kernels(centre_crop(template_maps.phi4, self.config.template_feature_size))
        rpn = self.rpn(kernels, search_maps.phi4)
        batch = torch.arange(template_images.shape[0], device=template_images.device)
        initial = self.pooling(template_maps.phi34, template_boxes, batch)
        anchors = self.anchors(rpn.scores.shape[-1], search_images.shape[-1])
        with torch.no_grad():
            proposals = sample_proposals(anchors, rpn)
        refinement = self.refine(search_maps.phi34, proposals.boxes, proposals.batch_index, initial, align=align)
        return TrainingOutputs(rpn=rpn, anchors=anchors, proposals=proposals, refinement=refinement)

    def train(self, mode: bool = True) -> CractNet:
        """Training mode everywhere except the backbone's BatchNorm, which stays frozen.

        Its ImageNet statistics are better estimates than those of small tracking
        batches (SiamRPN++ freezes them too).
        """
        super().train(mode)
        for module in self.features.backbone.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.eval()
        return self


# Prefix torch.compile puts before every key of the module it wraps.
COMPILED_MODULE_PREFIX = "_orig_mod."


def checkpoint_filter(state_dict: dict[str, torch.Tensor], model: CractNet | None) -> dict[str, torch.Tensor]:
    """Checkpoint filter of CRACT for ``trackerzoo convert --tracker cract[-VARIANT]``.

    CRACT's weights come from ``trackerzoo train cract`` in this module's own key
    layout (no official checkpoint exists to rename): a run's ``checkpoints/*.pt``
    (its ``model`` entry, found by the converter) becomes a weight file. Keys of a
    ``torch.compile``-wrapped module lose their ``_orig_mod.`` prefix; everything else
    passes unchanged, and the converter then checks the result against ``model`` (the
    ``CractNet`` of the variant) strictly, listing missing and unexpected keys.
    """
    if state_dict and all(key.startswith(COMPILED_MODULE_PREFIX) for key in state_dict):
        return {key[len(COMPILED_MODULE_PREFIX) :]: value for key, value in state_dict.items()}
    return dict(state_dict)
