"""Reading frames from videos, folders and globs; writing tracking results."""

from trackerzoo.io.frames import FrameReader, open_frames
from trackerzoo.io.writers import AnnotatedVideoWriter, atomic_write_text, write_boxes, write_mask_png

__all__ = [
    "AnnotatedVideoWriter",
    "FrameReader",
    "atomic_write_text",
    "open_frames",
    "write_boxes",
    "write_mask_png",
]
