"""``trackerzoo track``: run a tracker on a video file, image folder or glob."""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
from tqdm import tqdm

from trackerzoo.cli.defaults import DEFAULT_RULE, create_default_or
from trackerzoo.cli.options import add_tracker_options, parse_box, tracker_kwargs
from trackerzoo.cli.outputs import OutputRecorder
from trackerzoo.io import open_frames
from trackerzoo.session import track_frames


def register(subparsers) -> None:
    parser = subparsers.add_parser("track", help="track a target through a video, image folder or glob")
    parser.add_argument("source", help="video file, folder of images, or a quoted glob such as 'frames/*.jpg'")
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--init", help="initial box x,y,w,h in pixels of the first frame")
    target.add_argument("--init-mask", help="PNG mask of the target in the first frame (non-zero = target)")
    add_tracker_options(parser, default_rule=DEFAULT_RULE)
    parser.add_argument("--out", default="trackerzoo_output", help="output folder")
    parser.add_argument("--no-video", action="store_true", help="skip the annotated MP4")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    reader = open_frames(args.source)
    init_box = parse_box(args.init) if args.init else None
    init_mask = None
    if args.init_mask:
        image = cv2.imread(args.init_mask, cv2.IMREAD_GRAYSCALE)
        if image is None:
            raise ValueError(f"cannot read --init-mask {args.init_mask!r}")
        init_mask = image > 0
    name, tracker = create_default_or(args.tracker, **tracker_kwargs(args))
    recorder = OutputRecorder(
        Path(args.out),
        fps=reader.fps,
        total_frames=len(reader),
        frame_names=reader.frame_names(),
        write_video=not args.no_video,
    )
    with tqdm(total=len(reader) or None, unit="frame", desc=name) as bar:

        def on_frame(index, frame, prediction):
            recorder.on_frame(index, frame, prediction)
            bar.update(1)

        result = track_frames(tracker, reader, init_box=init_box, init_mask=init_mask, on_frame=on_frame)
    files = recorder.finish(result)
    print(f"{name}: {len(result.predictions)} frames, {result.fps:.1f} FPS (tracker only)")
    for kind, path in files.items():
        print(f"  {kind}: {path}")
    return 0
