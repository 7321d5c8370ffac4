"""``trackerzoo demo``: the main job: track the bundled clip with the best tracker available."""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

from tqdm import tqdm

from trackerzoo.cli.defaults import DEFAULT_TRACKER_HELP, DefaultTrackerHelpFormatter, create_default_or
from trackerzoo.cli.options import add_tracker_options, tracker_kwargs
from trackerzoo.cli.outputs import OutputRecorder, speed_summary
from trackerzoo.demo_data import DEMO_CLIP, DEMO_LICENSE, DEMO_PERSON, check_keyframes, demo_person
from trackerzoo.io import open_frames
from trackerzoo.session import run_tracker


def register(subparsers) -> None:
    parser = subparsers.add_parser("demo", help="track the bundled clip and write an annotated video",
                                   formatter_class=DefaultTrackerHelpFormatter)
    add_tracker_options(parser, default_rule=DEFAULT_TRACKER_HELP)
    parser.add_argument("--person", default=DEMO_PERSON,
                        help=f"whom to track: one of the clip's five annotated people (default {DEMO_PERSON}; "
                             "an unknown name lists them); tracking starts at the person's first annotated frame")
    parser.add_argument("--out", default="demo_output", help="output folder")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    person = demo_person(args.person)  # a bad name fails before any model is loaded
    name, tracker = create_default_or(args.tracker, **tracker_kwargs(args))
    reader = open_frames(DEMO_CLIP)
    start = person.first_frame
    out_dir = Path(args.out)
    recorder = OutputRecorder(out_dir, fps=reader.fps, frame_names=None)
    print(f"demo: tracking the {person.name} person of {DEMO_CLIP.name} from frame {start} "
          f"({len(reader)} frames; {DEMO_LICENSE}) with {name!r}")
    frames = itertools.islice(reader, start, None)
    boxes = []
    try:
        with tqdm(total=len(reader) - start, unit="frame", desc=name, disable=args.no_progress) as bar:
            for step in run_tracker(tracker, frames, init_box=person.init_box):
                recorder.add(step)
                boxes.append(step.prediction.box)
                bar.update(1)
    finally:
        files = recorder.finish()
    print(f"demo: {name}: {len(boxes)} frames, {speed_summary(recorder.init_seconds, recorder.fps_tracked)} "
          "(tracker only, decoding and drawing excluded; init = the first frame's initialisation)")
    check = check_keyframes(person, boxes, start)
    print(f"demo: against the hand-drawn boxes of the {person.name} person: {check.summary()}")
    for kind, path in files.items():
        print(f"  {kind}: {path}" + (f" (line 1 = clip frame {start})" if kind == "boxes" and start else ""))
    return 0
