"""Crops around the tracked box every N frames of the demo clip (docs/demo-cract-crops.jpg).

The demo's own contact sheet shows whole frames, where a 30x90 pedestrian is hard to
tell from its neighbours; these crops make it easy to see whom the box is on.

    python scripts/demo_crops.py demo_output/boxes.txt docs/demo-cract-crops.jpg
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import cv2
import numpy as np

from trackerzoo.demo_data import DEMO_CLIP
from trackerzoo.frames import open_frames

CROP_WIDTH, CROP_HEIGHT = 240, 180
COLUMNS = 6


def crop_around(frame: np.ndarray, box: np.ndarray, label: str) -> np.ndarray:
    """A fixed-size crop of an RGB frame centred on ``box`` (kept inside the frame), the box in red."""
    frame = frame.copy()
    x, y, w, h = np.round(box).astype(int)
    cv2.rectangle(frame, (x, y), (x + w, y + h), (255, 0, 0), 2)
    height, width = frame.shape[:2]
    left = int(np.clip(x + w // 2 - CROP_WIDTH // 2, 0, width - CROP_WIDTH))
    top = int(np.clip(y + h // 2 - CROP_HEIGHT // 2, 0, height - CROP_HEIGHT))
    crop = frame[top:top + CROP_HEIGHT, left:left + CROP_WIDTH].copy()
    cv2.putText(crop, label, (5, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 0), 2)
    return crop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("boxes", type=Path, help="x,y,w,h per line (trackerzoo demo's boxes.txt)")
    parser.add_argument("out", type=Path, help="image to write (.jpg or .png)")
    parser.add_argument("--every", type=int, default=12, help="frame step between crops")
    parser.add_argument("--start", type=int, default=0, help="clip frame of the first box (trackerzoo demo prints it)")
    args = parser.parse_args()
    if args.every < 1:
        raise ValueError(f"--every must be a positive integer, got {args.every}")
    if args.start < 0:
        raise ValueError(f"--start must be a frame number >= 0, got {args.start}")

    boxes = np.loadtxt(args.boxes, delimiter=",", ndmin=2)
    frames = list(itertools.islice(open_frames(DEMO_CLIP), args.start, None))
    if len(boxes) != len(frames):
        raise ValueError(f"{args.boxes} has {len(boxes)} boxes but the demo clip has {len(frames)} frames "
                         f"from frame {args.start}")
    tiles = [crop_around(frames[i], boxes[i], str(args.start + i)) for i in range(0, len(frames), args.every)]
    while len(tiles) % COLUMNS:
        tiles.append(np.zeros_like(tiles[0]))
    rows = [np.hstack(tiles[i:i + COLUMNS]) for i in range(0, len(tiles), COLUMNS)]
    options = [cv2.IMWRITE_JPEG_QUALITY, 85] if args.out.suffix.lower() in (".jpg", ".jpeg") else []
    if not cv2.imwrite(str(args.out), cv2.cvtColor(np.vstack(rows), cv2.COLOR_RGB2BGR), options):
        raise ValueError(f"could not write {args.out}")
    print(f"wrote {args.out} ({len(tiles)} tiles)")


if __name__ == "__main__":
    main()
