"""Core's built-in plugin for the checkpoint filters that belong to no tracker.

``plain`` keeps every key; ``backbone`` turns an ImageNet classifier file into backbone
weights. Filters for a tracker's official checkpoints come from that tracker's plugin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trackerzoo.hookspecs import hookimpl
from trackerzoo.weights.key_filters import classification_backbone_filter, plain_filter

if TYPE_CHECKING:
    from trackerzoo.registry import RegistryScope


@hookimpl
def trackerzoo_register_checkpoint_filters(registry: RegistryScope) -> None:
    registry.add_checkpoint_filter("plain", plain_filter, description="keys unchanged")
    registry.add_checkpoint_filter(
        "backbone", classification_backbone_filter,
        description="ImageNet classifier (torchvision layout) -> backbone: fc./classifier. dropped",
    )
