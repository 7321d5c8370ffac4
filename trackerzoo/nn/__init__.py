"""Neural-network building blocks shared by the tracker plugins.

Only the pieces that several trackers need live here (backbones first); a module
that one tracker alone uses belongs in that tracker's plugin.
"""

from trackerzoo.nn.backbones import Backbone, build_backbone, imagenet_normalize
from trackerzoo.nn.inference import PreparedModule, fold_batchnorm, prepare_for_inference

__all__ = ["Backbone", "PreparedModule", "build_backbone", "fold_batchnorm", "imagenet_normalize",
           "prepare_for_inference"]
