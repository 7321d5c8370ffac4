"""Neural-network building blocks shared by the tracker plugins.

Only the pieces that several trackers need live here (backbones first); a module
that one tracker alone uses belongs in that tracker's plugin.
"""

from trackerzoo.nn.backbones import Backbone, build_backbone, imagenet_normalize

__all__ = ["Backbone", "build_backbone", "imagenet_normalize"]
