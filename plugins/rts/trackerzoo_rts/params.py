"""Hyper-parameters of RTS as plain numbers.

``RtsParams``: what ``trackerzoo.create("rts", **params)`` may override, one field per
inference rule of the paper (Sec. 3.6) and of pytracking's ``parameter/rts/rts50.py``
(notes, section 2). ``ModelConfig``: the architecture of a variant, fixed by its weights.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from trackerzoo.params import Relation, param

TRACKER_NAME = "rts"
DEFAULT_VARIANT = "mobilenetv2"


def _check_weight_file(text: str) -> None:
    if text and not text.endswith(".safetensors"):
        raise ValueError(f"expected '' or a .safetensors file, got {text!r}")


@dataclasses.dataclass
class RtsParams:
    """Inference settings (sources in the comments; "paper" = RTS Sec. 3.6, "notes" = rts50.py)."""

    # Search region: area search_area_scale**2 * w * h, crop of sample_height x sample_width
    # pixels (notes: 6.0 and 480x832; our default crop is smaller for CPU speed).
    search_area_scale: float = param(6.0, low=1.0, high=20.0, help="search region side over the target side")
    sample_height: int = param(224, low=64, high=2048, help="crop height in pixels (multiple of 32)")
    sample_width: int = param(384, low=64, high=2048, help="crop width in pixels (multiple of 32)")
    # Memories (paper): 32 segmentation / 50 instance samples, first frame kept.
    segmentation_memory: int = param(32, low=2, high=10000, help="segmentation memory size D_s")
    instance_memory: int = param(50, low=2, high=10000, help="instance memory size D_c")
    segmentation_learning_rate: float = param(0.1, low=0.0, high=1.0, low_open=True,
                                              help="weight of a new segmentation sample")
    instance_learning_rate: float = param(0.01, low=0.0, high=1.0, low_open=True,
                                          help="weight of a new instance sample")
    # notes: init_samples_minimum_weight 0.25 (segmentation memory)
    initial_sample_min_weight: float = param(0.25, low=0.0, high=0.99,
                                             help="least total weight of the first frame's segmentation samples")
    # Update schedule (paper): every frame for the first 100 frames, then every 20th.
    update_all_frames: int = param(100, low=0, high=10**9, help="frames during which every frame updates")
    update_interval: int = param(20, low=1, high=10**6, help="frames between updates afterwards")
    # Learner iterations (notes): 20 / 3 segmentation, 10 / 2 / 1 (hard negative) instance.
    segmentation_init_iters: int = param(20, low=1, high=1000, help="few-shot learner steps on the first frame")
    segmentation_update_iters: int = param(3, low=0, high=1000, help="few-shot learner steps per update")
    instance_init_iters: int = param(10, low=1, high=1000, help="instance optimiser steps on the first frame")
    instance_update_iters: int = param(2, low=0, high=1000, help="instance optimiser steps per update")
    label_sigma_factor: float = param(0.25, low=0.01, high=2.0,
                                      help="Gaussian label sigma over the target size (instance labels)")
    # Memory rules (a)-(d) (paper): t_sc on max(s_c), t_ss on the mask probability.
    t_sc: float = param(0.3, low=0.0, high=1.0, help="t_sc: instance score above which the target is localised")
    t_ss: float = param(0.5, low=0.0, high=1.0, low_open=True, high_open=True,
                        help="t_ss: mask probability above which a pixel is target")
    min_mask_area: float = param(100.0, low=0.0, high=1e9, help="mask area (px) below which the mask is 'lost'")
    # Table 2: use the instance branch's position when the segmentation finds no target.
    instance_fallback: bool = param(True, help="use the instance branch when the mask is lost (Table 2)")
    # Table 1 ablation switch (needs weights trained the same way).
    instance_conditioning: bool = param(True, help="condition the decoder on H(s_c) (False: Table 1 row 2)")
    max_scale_change_low: float = param(0.8, low=0.1, high=1.0, help="least scale factor per frame")
    max_scale_change_high: float = param(1.2, low=1.0, high=10.0, help="largest scale factor per frame")
    # Initial-frame augmentation (paper): vertical flip, translations, blur.
    augment_flip: bool = param(True, help="add a vertically flipped first-frame sample")
    augment_shifts: int = param(2, low=0, high=16, help="randomly translated first-frame samples")
    augment_shift_fraction: float = param(0.1, low=0.0, high=0.5,
                                          help="largest translation, fraction of the crop size")
    augment_blur_sigma: float = param(1.0, low=0.0, high=10.0, help="sigma (px) of the blurred sample (0: none)")
    # Box initialisation (Sec. 3.1): STA weights (a `trackerzoo train rts-sta` or converted sta.pth.tar
    # file of this variant); empty: the box itself is the first mask.
    sta_weights: str = param("", check=_check_weight_file, valid="'' or a path ending in .safetensors",
                             help="weight file of the STA box-to-mask network ('' = fill the box)")
    sta_search_area_scale: float = param(4.0, low=1.0, high=20.0,
                                         help="STA crop side over the target side (notes: 4.0)")
    seed: int = param(0, low=0, high=2**63 - 1, help="seed of the tracker's own random generator (augmentation)")
    ops_backend: str = param("auto", choices=("auto", "torch", "cpu", "cuda"), help="backend of trackerzoo.ops")

    relations: ClassVar[tuple[Relation, ...]] = (
        Relation("sample_height % 32 == 0", lambda p: p.sample_height % 32 == 0),
        Relation("sample_width % 32 == 0", lambda p: p.sample_width % 32 == 0),
    )


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Architecture of one variant (fixed by its weights); official values from ``ltr/train_settings/rts/rts50.py``."""

    backbone: str
    segmentation_layer: str
    instance_layer: str
    decoder_layers: tuple[str, str, str, str]  # deepest first
    feature_dim: int  # out_feature_dim
    decoder_width: int  # decoder_mdim
    input_normalization: str
    instance_pool_stride: int
    num_filters: int = 16
    filter_size: int = 3
    instance_filter_size: int = 4
    num_iters: int = 5  # unrolled steepest-descent steps in training
    init_filter_reg: float = 1e-2
    hinge_threshold: float = 0.05
    activation_leak: float = 0.1
    label_encoder_dims: tuple[int, int, int] = (16, 32, 64)


MODEL_CONFIGS: dict[str, ModelConfig] = {
    # Ours: the same heads on the ImageNet MobileNetV2 (narrower features for a CPU).
    "mobilenetv2": ModelConfig(
        backbone="mobilenetv2", segmentation_layer="stride16", instance_layer="stride16",
        decoder_layers=("stride32", "stride16", "stride8", "stride4"), feature_dim=128, decoder_width=32,
        input_normalization="imagenet", instance_pool_stride=32,
    ),
    # The official network, layer for layer (rts50.pth): MaskRCNN ResNet-50, BGR 0..255 input,
    # instance boxes pooled with DiMP's default stride 16 (as the official code does).
    "resnet50": ModelConfig(
        backbone="resnet50", segmentation_layer="layer3", instance_layer="layer3",
        decoder_layers=("layer4", "layer3", "layer2", "layer1"), feature_dim=512, decoder_width=64,
        input_normalization="bgr255", instance_pool_stride=16,
    ),
}
