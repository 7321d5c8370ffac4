"""The clip bundled for ``trackerzoo demo`` and its initial target."""

from __future__ import annotations

from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
# The first 200 frames of OpenCV's sample video vtest.avi (a pedestrian scene), from
# Debian's opencv-doc package, re-encoded as MP4. Licence: see data/README.md.
DEMO_CLIP = DATA_DIR / "vtest_pedestrian.mp4"
DEMO_LICENSE = "OpenCV sample data, BSD-3-Clause"
# The man in a dark coat standing left of the lamp post in frame 0, who then walks right.
DEMO_INIT_BOX = (253.0, 220.0, 30.0, 90.0)
