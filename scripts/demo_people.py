"""Track every annotated person of the demo clip and compare with the hand-drawn keyframes.

Prints a markdown table (README, "The demo clip's people") and writes each run's boxes
as ``OUT/<tracker>/<person>.txt`` (one x,y,w,h line per frame from the person's first
frame), which ``scripts/demo_crops.py --start`` turns into crops.

    python scripts/demo_people.py --trackers cract csrt --out runs/demo-people
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import torch

import trackerzoo
from trackerzoo.cli.options import parse_overrides
from trackerzoo.demo_data import DEMO_CLIP, check_keyframes, load_demo_people
from trackerzoo.io import open_frames, write_boxes
from trackerzoo.session import track_frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trackers", nargs="+", default=["cract", "csrt"])
    parser.add_argument("--people", nargs="+", default=None, help="names (default: all annotated people)")
    parser.add_argument("--out", type=Path, default=Path("runs/demo-people"))
    parser.add_argument("--weights", default=None,
                        help="weights file given to every tracker listed (default: the shipped weights)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="tracker parameter, as for trackerzoo track (applies to every tracker)")
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    people = load_demo_people()
    names = args.people or list(people)
    unknown = [name for name in names if name not in people]
    if unknown:
        raise ValueError(f"unknown people {unknown}; annotated: {', '.join(people)}")
    params = parse_overrides(args.set)

    print("| tracker | person | frames | on target | first off | mean IoU | FPS |")
    print("|---|---|---|---:|---:|---:|---:|")
    for tracker_name, name in itertools.product(args.trackers, names):
        person = people[name]
        options = {"weights": args.weights} if args.weights is not None else {}
        tracker = trackerzoo.create(tracker_name, **options, **params)
        frames = itertools.islice(open_frames(DEMO_CLIP), person.first_frame, None)
        run = track_frames(tracker, frames, init_box=person.init_box)
        boxes = [prediction.box for prediction in run.predictions]
        write_boxes(args.out / tracker_name / f"{name}.txt", boxes)
        check = check_keyframes(person, boxes, person.first_frame)
        last = person.first_frame + len(boxes) - 1
        first_off = "-" if check.first_miss is None else str(check.first_miss)
        print(f"| {tracker_name} | {name} | {person.first_frame}-{last} | {check.on_target}/{check.checked} | "
              f"{first_off} | {check.mean_iou:.2f} | {run.fps:.1f} |", flush=True)


if __name__ == "__main__":
    main()
