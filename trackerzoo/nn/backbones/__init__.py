"""Backbones for the trackers: ResNet-18/50 in the papers' layouts and MobileNetV2.

backbone = build_backbone("mobilenetv2", output_layers=["stride8", "stride16"], pretrained=True)
features = backbone(imagenet_normalize(images))   # {"stride8": ..., "stride16": ...}
"""

from trackerzoo.nn.backbones.base import IMAGENET_MEAN, IMAGENET_STD, Backbone, imagenet_normalize
from trackerzoo.nn.backbones.factory import build_backbone, load_pretrained, pretrained_weights_name
from trackerzoo.nn.backbones.mobilenetv2 import MobileNetV2, MobileNetV2Classifier
from trackerzoo.nn.backbones.resnet import ResNet

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "Backbone",
    "MobileNetV2",
    "MobileNetV2Classifier",
    "ResNet",
    "build_backbone",
    "imagenet_normalize",
    "load_pretrained",
    "pretrained_weights_name",
]
