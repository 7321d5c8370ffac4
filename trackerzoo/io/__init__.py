"""Reading frames from videos, folders and globs; writing tracking results."""

from trackerzoo.frames import FrameReader, open_frames
from trackerzoo.io.writers import AnnotatedVideoWriter, write_boxes, write_mask_png, write_text_atomic

__all__ = [
    "AnnotatedVideoWriter",
    "FrameReader",
    "open_frames",
    "write_boxes",
    "write_mask_png",
    "write_text_atomic",
]
