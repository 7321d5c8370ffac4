"""The offline-trained RTS network (Fig. 2 of the paper) in pytracking's module layout.

``RtsNet`` holds the backbone (``feature_extractor``), the segmentation branch
(``target_model`` with its few-shot learner, ``label_encoder`` = E and W), the instance
branch (``classifier``: features G, filter initialiser with Precise RoI Pooling, DiMP
optimiser), the score encoder H (``clf_encoder``) and the decoder D (``decoder``). The
online parts (memories, update schedule) live in the tracker; this module gives the steps
the tracker and the training loss call:

    x_b = backbone(crop);  x_s = F(x_b);  x_c = G(x_b)
    tau = A(x_s, E(y), W(y));     x_m = T_tau(x_s)                 (Sec. 3.2, Eq. 1)
    kappa = P(x_c, box, label);   s_c = T_kappa(x_c)               (Sec. 3.3, Eq. 2)
    x_f = x_m + H(s_c);           mask logits = D(x_f, x_b)        (Sec. 3.4)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import torch
from torch import nn

from trackerzoo.nn.backbones import build_backbone, imagenet_normalize
from trackerzoo_rts.model.blocks import interpolate
from trackerzoo_rts.model.decoder import SegmentationDecoder
from trackerzoo_rts.model.label_encoder import MaskEncoder
from trackerzoo_rts.model.target_models import InstanceTargetModel, SegmentationTargetModel
from trackerzoo_rts.params import ModelConfig

# Official input normalisation: BGR in 0..255 minus the MaskRCNN mean (notes, section 2).
BGR_MEAN = (102.9801, 115.9465, 122.7717)


def normalize_input(images: torch.Tensor, mode: str) -> torch.Tensor:
    """RGB crops in [0, 1] ``[B, 3, H, W]`` to the backbone's input (``imagenet`` or official ``bgr255``)."""
    if mode == "imagenet":
        return imagenet_normalize(images)
    if mode == "bgr255":
        mean = torch.tensor(BGR_MEAN, dtype=images.dtype, device=images.device).view(1, 3, 1, 1)
        return images.flip(1) * 255.0 - mean
    raise ValueError(f"unknown input normalisation {mode!r}; use 'imagenet' or 'bgr255'")


@dataclasses.dataclass
class SequenceOutputs:
    """What the sequence losses need: mask logits of frames 1..J-1 and the instance scores of every iterate."""

    mask_logits: torch.Tensor  # [B, J-1, 1, H, W]
    instance_scores: list[torch.Tensor]  # N_iter + 1 tensors [B, J-1, 1, h, w]


class RtsNet(nn.Module):
    """Backbone + segmentation branch + instance branch + score encoder + decoder (official key layout)."""

    def __init__(self, config: ModelConfig, *, pretrained_backbone: bool = False) -> None:
        super().__init__()
        self.config = config
        layers = sorted({config.segmentation_layer, config.instance_layer, *config.decoder_layers})
        options = {"style": "mrcnn"} if config.backbone == "resnet50" else {}
        self.feature_extractor = build_backbone(config.backbone, output_layers=layers,
                                                pretrained=pretrained_backbone, **options)
        channels = self.feature_extractor.out_channels
        self.target_model = SegmentationTargetModel(
            channels[config.segmentation_layer], config.feature_dim, config.num_filters, config.filter_size,
            config.init_filter_reg, config.num_iters)
        self.label_encoder = MaskEncoder((*config.label_encoder_dims, config.num_filters), stride=2)
        self.classifier = InstanceTargetModel(
            channels[config.instance_layer], config.feature_dim, config.instance_filter_size,
            config.instance_pool_stride, config.filter_size, config.num_iters, config.hinge_threshold,
            config.activation_leak, config.init_filter_reg)
        self.clf_encoder = MaskEncoder((*config.label_encoder_dims, config.num_filters), stride=1)
        self.decoder = SegmentationDecoder(config.num_filters, config.decoder_width,
                                           {name: channels[name] for name in config.decoder_layers})

    # -- features ------------------------------------------------------------------------
    def backbone(self, crops: torch.Tensor) -> dict[str, torch.Tensor]:
        """``x_b``: the backbone levels of RGB crops in [0, 1] ``[B, 3, H, W]`` (H, W multiples of 32)."""
        if crops.dim() != 4 or crops.shape[1] != 3 or crops.shape[-2] % 32 or crops.shape[-1] % 32:
            raise ValueError(f"crops must be [B, 3, H, W] with H, W multiples of 32, got {tuple(crops.shape)}")
        return self.feature_extractor(normalize_input(crops, self.config.input_normalization))

    def segmentation_features(self, levels: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """``x_s [B, C, H/16, W/16]``."""
        return self.target_model.features(levels[self.config.segmentation_layer])

    def instance_features(self, levels: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """``x_c [B, C, H/32, W/32]``."""
        return self.classifier.features(levels[self.config.instance_layer])

    # -- segmentation branch -----------------------------------------------------------------
    def label_encoding(self, masks: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``E(y), W(y)`` of soft masks ``[S, N, 1, H, W]`` as ``[S, N, F, H/16, W/16]`` each."""
        labels, weights = self.label_encoder(masks.reshape(-1, 1, *masks.shape[-2:]))
        return (labels.reshape(*masks.shape[:2], *labels.shape[1:]),
                weights.reshape(*masks.shape[:2], *weights.shape[1:]))

    def learn_segmentation(self, feat: torch.Tensor, masks: torch.Tensor, *, filt: torch.Tensor | None = None,
                           memory_weights: torch.Tensor | None = None, num_iters: int | None = None) -> torch.Tensor:
        """Few-shot learner A: tau from ``x_s [S, N, C, h, w]`` and masks ``[S, N, 1, H, W]``.

        Starts from ``filt`` (default zeros); ``memory_weights [S, N]`` scale the residual
        of each frame on top of W(y) (as pytracking's tracker does). Returns tau ``[S, F, C, 3, 3]``.
        """
        labels, weights = self.label_encoding(masks)
        if memory_weights is not None:
            weights = weights * memory_weights.reshape(*memory_weights.shape[:2], 1, 1, 1)
        start = self.target_model.zero_filter(feat) if filt is None else filt
        return self.target_model.filter_optimizer(start, feat, labels, weights, num_iters)[-1]

    # -- decoding --------------------------------------------------------------------------------
    def segment(self, filt: torch.Tensor, seg_feat: torch.Tensor, levels: Mapping[str, torch.Tensor],
                instance_scores: torch.Tensor | None, image_size: tuple[int, int]) -> torch.Tensor:
        """Mask logits ``[S, 1, H, W]`` of one frame per sequence.

        ``filt`` tau ``[S, F, C, 3, 3]``, ``seg_feat`` x_s ``[S, C, h, w]``, ``levels`` the
        frame's backbone levels (batch S), ``instance_scores`` s_c ``[S, 1, h', w']`` or
        ``None`` (no conditioning: the ablation of Table 1).
        """
        encoding = self.target_model.apply(filt, seg_feat.unsqueeze(1))[:, 0]  # x_m
        if instance_scores is not None:
            conditioning, _ = self.clf_encoder(instance_scores)  # H(s_c)
            encoding = encoding + interpolate(conditioning, encoding.shape[-2:])
        return self.decoder(encoding, levels, image_size)

    # -- offline training (Sec. 3.5) --------------------------------------------------------------
    def forward(self, frames: torch.Tensor, boxes: torch.Tensor, masks: torch.Tensor, labels: torch.Tensor, *,
                refinement_iters: int = 2, conditioning: bool = True) -> SequenceOutputs:
        """One pass over training clips (Eqs. 3-4): the first frame trains both models, the rest are segmented.

        ``frames [B, J, 3, H, W]`` (RGB in [0, 1]), ``boxes [B, J, 4]`` (x, y, w, h, crop px),
        ``masks [B, J, 1, H, W]``, ``labels [B, J, 1, h+1, w+1]`` (Gaussian, stride-32 map).
        The segmentation model is refined along the clip on its own (detached) predictions
        (``refinement_iters`` steps per frame, official 2); the instance model is fitted on
        frame 0 only, and every one of its iterates scores frames 1..J-1 (Eq. 4).
        """
        num_seq, num_frames = frames.shape[:2]
        if num_frames < 2:
            raise ValueError(f"a training clip needs at least 2 frames, got {num_frames}")
        levels = self.backbone(frames.reshape(-1, *frames.shape[2:]))
        seg_feat = self.segmentation_features(levels)
        seg_feat = seg_feat.reshape(num_seq, num_frames, *seg_feat.shape[1:])
        inst_feat = self.instance_features(levels)
        inst_feat = inst_feat.reshape(num_seq, num_frames, *inst_feat.shape[1:])
        per_frame = {name: value.reshape(num_seq, num_frames, *value.shape[1:]) for name, value in levels.items()}

        kappas = self.classifier.learn(inst_feat[:, :1], boxes[:, :1], labels[:, :1])
        test_feat = inst_feat[:, 1:]
        instance_scores = [self.classifier.apply(kappa, test_feat) for kappa in kappas]  # [B, J-1, 1, h, w] each

        tau = self.learn_segmentation(seg_feat[:, :1], masks[:, :1])
        memory_masks = [masks[:, 0]]
        logits = []
        for j in range(1, num_frames):
            scores = instance_scores[-1][:, j - 1] if conditioning else None
            frame_levels = {name: value[:, j] for name, value in per_frame.items()}
            logit = self.segment(tau, seg_feat[:, j], frame_levels, scores, frames.shape[-2:])
            logits.append(logit)
            memory_masks.append(torch.sigmoid(logit.detach()))
            if j < num_frames - 1 and refinement_iters > 0:
                tau = self.learn_segmentation(seg_feat[:, : j + 1], torch.stack(memory_masks, dim=1), filt=tau,
                                              num_iters=refinement_iters)
        return SequenceOutputs(mask_logits=torch.stack(logits, dim=1), instance_scores=instance_scores)

    def train(self, mode: bool = True) -> RtsNet:
        """Training mode except the backbone's BatchNorm, kept frozen (official ``disable_all_bn``)."""
        super().train(mode)
        for module in self.feature_extractor.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.eval()
        return self


COMPILED_MODULE_PREFIX = "_orig_mod."
# A key only the ResNet-50 (official) layout has.
RESNET50_MARKER = "feature_extractor.layer1.0.conv3.weight"


def _without_compile_prefix(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    if state_dict and all(key.startswith(COMPILED_MODULE_PREFIX) for key in state_dict):
        return {key[len(COMPILED_MODULE_PREFIX):]: value for key, value in state_dict.items()}
    return dict(state_dict)


def checkpoint_filter(state_dict: dict[str, torch.Tensor], model: nn.Module | None) -> dict[str, torch.Tensor]:
    """``trackerzoo convert CKPT --tracker rts-VARIANT`` (and ``--part sta``): keys pass unchanged.

    The official ``rts50.pth`` and ``sta.pth.tar`` keep their state dicts under ``net`` (the
    converter finds it) in exactly the layout of ``RtsNet``/``StaNet``; a ``torch.compile``
    prefix of our own training checkpoints is dropped. The converter then loads the result
    into ``model`` strictly.
    """
    return _without_compile_prefix(state_dict)


def detecting_checkpoint_filter(state_dict: dict[str, torch.Tensor],
                                model: nn.Module | None) -> dict[str, torch.Tensor]:
    """``trackerzoo convert CKPT --tracker rts``: the variant is read off the keys, then checked strictly.

    A ResNet-50 backbone key means the official ``rts50.pth`` layout (variant ``resnet50``),
    otherwise our default variant; the tensors must load into that ``RtsNet`` (``model`` when it
    is one of that variant, which is then filled, else a new one) with no missing or unexpected
    key (``ValueError`` listing them otherwise).
    """
    from trackerzoo.weights import apply_state_dict
    from trackerzoo_rts.params import DEFAULT_VARIANT, MODEL_CONFIGS

    tensors = _without_compile_prefix(state_dict)
    variant = "resnet50" if RESNET50_MARKER in tensors else DEFAULT_VARIANT
    config = MODEL_CONFIGS[variant]
    target = model if isinstance(model, RtsNet) and model.config == config else RtsNet(config)
    apply_state_dict(target, tensors, source=f"an RTS checkpoint (variant {variant})")
    return tensors
