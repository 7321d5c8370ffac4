"""Training samples drawn from any ``trackerzoo.datasets.Dataset``."""

from trackerzoo.training.samplers.crop import CropSpec, crop_frame
from trackerzoo.training.samplers.pairs import PairSampler
from trackerzoo.training.samplers.sequences import SequenceSampler
from trackerzoo.training.samplers.source import SequencePool
from trackerzoo.training.samplers.stream import IndexStream

__all__ = ["CropSpec", "IndexStream", "PairSampler", "SequencePool", "SequenceSampler", "crop_frame"]
