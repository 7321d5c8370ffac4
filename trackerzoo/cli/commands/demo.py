"""``trackerzoo demo``: the main job: track the bundled clip with the best tracker available."""

from __future__ import annotations

import argparse
from pathlib import Path

import trackerzoo
from trackerzoo.cli.outputs import OutputRecorder
from trackerzoo.demo_data import DEMO_CLIP, DEMO_INIT_BOX, DEMO_LICENSE
from trackerzoo.errors import TrackerNotFoundError, WeightsNotFoundError
from trackerzoo.io import open_frames
from trackerzoo.session import track_frames

# Our paper trackers first (once their trained weights ship), then the classic baseline.
PREFERENCE = ("cract", "rts", "arn", "rpvt", "ibfp", "csrt", "kcf", "mil")


def register(subparsers) -> None:
    parser = subparsers.add_parser("demo", help="track the bundled clip and write an annotated video")
    parser.add_argument("--tracker", default=None, help="force a tracker (default: the best one available)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", default="demo_output", help="output folder")
    parser.set_defaults(func=run)


def pick_tracker(device: str, forced: str | None) -> tuple[str, trackerzoo.Tracker]:
    """The first tracker of ``PREFERENCE`` that is installed and has its weights."""
    if forced:
        return forced, trackerzoo.create(forced, device=device)
    installed = {info.name for info in trackerzoo.list_trackers()}
    for name in PREFERENCE:
        if name not in installed:
            continue
        try:
            return name, trackerzoo.create(name, device=device)
        except (WeightsNotFoundError, FileNotFoundError) as exc:
            print(f"skipping {name}: {exc}")
    raise TrackerNotFoundError("(any demo tracker)", sorted(installed))


def run(args: argparse.Namespace) -> int:
    name, tracker = pick_tracker(args.device, args.tracker)
    reader = open_frames(DEMO_CLIP)
    out_dir = Path(args.out)
    recorder = OutputRecorder(out_dir, fps=reader.fps, total_frames=len(reader), frame_names=None)
    print(f"demo: tracking {DEMO_CLIP.name} ({len(reader)} frames; {DEMO_LICENSE}) with {name!r}")
    result = track_frames(tracker, reader, init_box=DEMO_INIT_BOX, on_frame=recorder.on_frame)
    files = recorder.finish(result)
    frames = len(result.predictions)
    print(f"demo: {name}: {frames} frames, {result.fps:.1f} FPS (tracker only, decoding and drawing excluded)")
    for kind, path in files.items():
        print(f"  {kind}: {path}")
    return 0
