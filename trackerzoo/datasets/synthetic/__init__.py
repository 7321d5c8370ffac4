"""Composited tracking sequences with exact ground truth (``trackerzoo make-dataset``).

Real cut-outs (or procedural shapes) are pasted over real photographs or video
frames with smooth motion, scale/aspect change, rotation, illumination change,
motion blur, occlusions, look-alike distractors, exits from the view and camera
motion. Every frame's mask and box come from the compositing itself, so they are
exact. See ``docs/evaluation.md`` for the ground-truth rules and the
``zoo-synth-val`` benchmark.

Core's built-in plugin (``trackerzoo.datasets.builtin_plugin``) registers the dataset kind
``synthetic``.
"""

from trackerzoo.datasets.synthetic.generator import (
    PRESETS,
    DatasetSpec,
    build_dataset,
    generate_sequence,
    make_pool,
    preset,
)
from trackerzoo.datasets.synthetic.loader import load_synthetic
from trackerzoo.datasets.synthetic.render import FrameTruth, mask_box
from trackerzoo.datasets.synthetic.scene import SceneConfig

__all__ = [
    "PRESETS",
    "DatasetSpec",
    "FrameTruth",
    "SceneConfig",
    "build_dataset",
    "generate_sequence",
    "load_synthetic",
    "make_pool",
    "mask_box",
    "preset",
]
