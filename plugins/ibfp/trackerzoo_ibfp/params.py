"""Hyper-parameters of IBFP, as plain numbers.

``IbfpParams``: what ``trackerzoo.create("ibfp", **params)`` may override (crops, the
anchor-free ranking of SiamFC++, the ATOM-style online branch). ``ModelConfig``: the
architecture of one variant, fixed by its weights file and chosen by ``variant``.
Sources: "paper" = Pi et al., Instance-based Feature Pyramid for Visual Object Tracking
(Sec. IV-A); "notes" = reference facts (ATOM's online classifier); "ours" = our choice,
explained in plugins/ibfp/README.md.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import ClassVar

from trackerzoo.params import Relation, param, validate_params
from trackerzoo.training.config import convert_value

# The name the plugin registers the tracker under (weights/manifest.json entries carry it).
TRACKER_NAME = "ibfp"
DEFAULT_VARIANT = "mobilenetv2"
# Total stride of the deepest level: crop sides must be multiples of it so that every
# transposed conv exactly doubles the map (288 / 32 = 9 -> 18 -> 36).
DEEPEST_STRIDE = 32


@dataclasses.dataclass
class IbfpParams:
    """Inference settings (``trackerzoo list --params ibfp`` prints the table)."""

    # paper: template and search crops both 288 x 288, area 5x the target's. Ours: 192 (the
    # shipped weights are trained at 192; 2.25x less work per frame on a CPU); 288 gives the
    # paper's 36 x 36 maps.
    crop_size: int = param(192, low=96, high=1024, help="side of the template and search crops, pixels "
                                                        "(multiple of 32)")
    area_factor: float = param(5.0, low=1.0, high=100.0, low_open=True,
                               help="area of a crop over the target's area (paper: 5)")
    # ours: SiamFC++ ranking (penalty, window) and size smoothing
    penalty_k: float = param(0.04, low=0.0, high=10.0, help="strength of the size/aspect change penalty")
    window_influence: float = param(0.3, low=0.0, high=1.0, help="weight of the cosine window in the ranking")
    lr: float = param(0.5, low=0.0, high=1.0, help="rate at which the box size follows the prediction")
    min_target_size: float = param(8.0, low=1.0, high=10000.0, help="smallest box side tracked, pixels")
    # paper Eq. 11: s = w s_c + (1 - w) s_u with w = 0.3
    offline_weight: float = param(0.3, low=0.0, high=1.0,
                                  help="w of Eq. 11: weight of the offline centre map (1: online branch off)")
    use_online: bool = param(True, help="run the online branch (False: offline centre map only)")
    # notes (ATOM): projection to 64 channels, filter regularisation, GN/CG schedule, memory
    online_projection: int = param(64, low=1, high=1024, help="channels of the online branch's 1x1 projection")
    online_filter_size: int = param(5, low=1, high=9, help="side of the online filter, cells (odd)")
    online_filter_reg: float = param(0.1, low=0.0, high=100.0, help="filter regularisation of the online fit")
    online_projection_reg: float = param(1e-4, low=0.0, high=100.0, help="projection regularisation (first fit)")
    online_sigma_factor: float = param(0.125, low=0.01, high=2.0,
                                       help="sigma of the online label, times sqrt(w h) of the target")
    init_gauss_newton_iters: int = param(6, low=1, high=100, help="Gauss-Newton steps of the first-frame fit")
    init_cg_iters: int = param(10, low=1, high=1000, help="CG steps per Gauss-Newton step (first fit)")
    update_cg_iters: int = param(5, low=1, high=1000, help="CG steps per online update")
    # paper: every 10 frames or on hard negatives
    update_interval: int = param(10, low=1, high=100000, help="frames between online updates")
    memory_size: int = param(50, low=8, high=1000, help="samples kept for the online updates")
    memory_learning_rate: float = param(0.01, low=0.0, high=1.0, low_open=True,
                                        help="weight of a new sample in the online memory")
    # notes (ATOM): hard negative when a distractor peak reaches half the target's
    hard_negative_ratio: float = param(0.5, low=0.0, high=1.0, low_open=True,
                                       help="distractor peak over target peak that triggers an update")
    confident_score: float = param(0.25, low=0.0, high=1.0,
                                   help="fused score from which a frame joins the online memory")
    init_shift: float = param(0.125, low=0.0, high=0.5,
                              help="shift of the augmented first-frame crops, fraction of the crop side")
    seed: int = param(0, low=0, high=2**63 - 1, help="seed of the tracker's generator (random initial weights)")
    ops_backend: str = param("auto", choices=("auto", "torch", "cpu", "cuda"), help="backend of trackerzoo.ops")
    inference: str = param("fast", choices=("exact", "fast", "eager"),
                           help="network inference path: fast (folded, traced), exact (traced), eager")

    channels_last: bool = param(False, help="run the traced network in channels_last (NHWC) memory format")

    relations: ClassVar[tuple[Relation, ...]] = (
        Relation("crop_size is a multiple of 32", lambda p: p.crop_size % DEEPEST_STRIDE == 0),
        Relation("online_filter_size is odd", lambda p: p.online_filter_size % 2 == 1),
        Relation("channels_last only with inference=fast", lambda p: not p.channels_last or p.inference == "fast"),
    )

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(type(self))
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if hints[field.name] is not str and isinstance(value, str):
                setattr(self, field.name, convert_value(field.name, value, hints[field.name]))
        validate_params(self, TRACKER_NAME)


FUSIONS = ("ibu", "concat", "single")


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Architecture of one variant (fixed by its weights).

    ``layers`` are the backbone outputs used as the paper's layer3, layer4, layer5
    (strides 8, 16, 32); ``channels`` what a 1x1 adjust conv maps them to (``None``: the
    backbone's own channels, the paper's ResNet-18). ``kernel_sizes`` are the sides of
    the template crops correlated at each level. ``fusion``: ``"ibu"`` (the paper),
    ``"concat"`` (Table I row 2: upsample and concatenate layers 3-5) or ``"single"``
    (Table I row 1: layer4 only).
    """

    backbone: str
    layers: tuple[str, str, str]
    channels: tuple[int, int, int] | None
    head_channels: int
    kernel_sizes: tuple[int, int, int] = (9, 5, 3)
    head_layers: int = 5  # paper: 5 conv layers per branch (4 hidden + output)
    fusion: str = "ibu"
    cscs: bool = True
    cscs_ratio: float = 0.5  # paper: eta = 0.5
    stride: int = 8  # of the output map
    fuse_kernel: int = 3  # side of the IBU's fusing conv (Eq. 5; the paper does not give it)


_MOBILENETV2 = ModelConfig(
    backbone="mobilenetv2", layers=("stride8", "stride16", "stride32"), channels=(128, 128, 256),
    head_channels=64, fuse_kernel=1,
)

MODEL_CONFIGS: dict[str, ModelConfig] = {
    # Ours, the default: ImageNet MobileNetV2, adjusted to 128/128/256 channels, narrow head, 1x1 fusing convs.
    "mobilenetv2": _MOBILENETV2,
    # The paper: ResNet-18 layer2/3/4 (its "layer3/4/5": 128/256/512 channels), 256-channel head.
    "r18": ModelConfig(backbone="resnet18", layers=("layer2", "layer3", "layer4"), channels=None,
                       head_channels=256),
    # Ablations of Table I (no shipped weights).
    "mobilenetv2-nocscs": dataclasses.replace(_MOBILENETV2, cscs=False),
    "mobilenetv2-concat": dataclasses.replace(_MOBILENETV2, fusion="concat", cscs=False),
    "mobilenetv2-layer4": dataclasses.replace(_MOBILENETV2, fusion="single", cscs=False),
}
