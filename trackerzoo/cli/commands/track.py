"""``trackerzoo track``: run a tracker on a video, image folder, glob, camera or folder of videos.

Results are streamed to ``--out`` as frames are tracked (``trackerzoo.cli.outputs``).
Ctrl-C (SIGINT) and SIGTERM finish the frame being tracked, close every file and exit
with ``128 + signal number`` after one line saying how many frames were written; a frame
that cannot be decoded stops the run the same way (exit status 1), keeping the frames
before it.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import re
import signal
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from tqdm import tqdm

from trackerzoo.cli.defaults import DEFAULT_TRACKER_HELP, DefaultTrackerHelpFormatter, create_default_or
from trackerzoo.cli.options import add_tracker_options, parse_box, tracker_kwargs
from trackerzoo.cli.outputs import OutputRecorder, speed_summary
from trackerzoo.frames import IMAGE_SUFFIXES, VIDEO_SUFFIXES, FrameDecodeError, FrameReader, camera_index, natural_key
from trackerzoo.io.display import FrameWindow, gui_unavailable_reason, select_box
from trackerzoo.session import run_tracker
from trackerzoo.tracker import Tracker


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "track", help="track a target through a video, image folder, glob, camera or folder of videos",
        formatter_class=DefaultTrackerHelpFormatter,
        description="Track one target and write boxes.txt, scores.txt, times.txt, masks/ (mask trackers), "
                    "annotated.mp4 and contact_sheet.png into --out, streamed as frames are tracked. "
                    "Ctrl-C or SIGTERM stops cleanly, keeping the frames tracked so far. A run replaces the "
                    "files of an earlier run in the same folder.")
    parser.add_argument("source", help="video file, folder of images, quoted glob such as 'frames/*.jpg', camera "
                                       "index (0 = the first webcam), or a folder of videos (with --init-file)")
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--init", help="initial box x,y,w,h in pixels on the first tracked frame (without --init, "
                                       "--init-mask or --init-file you draw it in a window, when a display exists)")
    target.add_argument("--init-mask", help="PNG mask of the target on the first tracked frame (non-zero = target)")
    target.add_argument("--init-file", help="text file of initial boxes for a folder of videos, one line per video: "
                                            "'<video file name or stem> x,y,w,h'; '#' starts a comment")
    parser.add_argument("--start", type=int, default=0, help="index of the first frame to track (0-based; the "
                                                             "initial box is on this frame; default 0)")
    parser.add_argument("--end", type=int, default=None, help="stop before this frame index (exclusive, like a "
                                                              "Python slice; default: the last frame)")
    add_tracker_options(parser, default_rule=DEFAULT_TRACKER_HELP)
    parser.add_argument("--out", default="trackerzoo_output",
                        help="output folder (a folder of videos gets one subfolder per video)")
    parser.add_argument("--no-video", action="store_true", help="skip the annotated MP4")
    parser.add_argument("--show", action="store_true", help="show the tracked frames in a window (q or Esc stops)")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object per frame to stdout: source, frame, box, score, rotated_box, "
                             "mask (the summary then goes to stderr)")
    parser.set_defaults(func=run)


@dataclass(frozen=True)
class Job:
    """One source to track: where from, the initial target, where to."""

    label: str
    source: str | int
    out_dir: Path
    box: tuple[float, ...] | None = None
    mask: np.ndarray | None = None


class StopOnSignals:
    """Turns SIGINT/SIGTERM into a request to stop after the current frame.

    The first signal is remembered in ``received`` and the previous handlers come back,
    so a second Ctrl-C aborts at once. Outside the main thread nothing is installed.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.received: signal.Signals | None = None
        self._previous: dict[int, Any] = {}

    def _handle(self, number: int, frame: Any) -> None:
        self.received = signal.Signals(number)
        self._restore()

    def _restore(self) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous = {}

    def __enter__(self) -> StopOnSignals:
        with contextlib.suppress(ValueError):  # not the main thread
            for number in self.SIGNALS:
                self._previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        self._restore()


# "<name> x,y,w,h": the name is everything before the last four comma-separated fields.
_INIT_LINE = re.compile(r"(?P<name>.*?\S)\s+(?P<box>[^\s,]+(?:\s*,\s*[^\s,]+){3})")


def read_init_file(path: str | os.PathLike) -> dict[str, tuple[float, float, float, float]]:
    """Initial boxes by video name from an ``--init-file``.

    Each non-blank line is ``<name> x,y,w,h``: the video's file name (``cars.mp4``) or
    stem (``cars``), then its box in pixels (blanks after the commas allowed); the name
    may contain spaces and ``#`` starts a comment. Raises ``FileNotFoundError`` for a missing
    file and ``ValueError`` naming the file and line for a malformed or repeated entry.
    """
    source = Path(path)
    if not source.is_file():
        raise FileNotFoundError(f"--init-file {os.fspath(path)!r} does not exist")
    boxes: dict[str, tuple[float, float, float, float]] = {}
    for number, raw in enumerate(source.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = _INIT_LINE.fullmatch(line)
        if match is None:
            raise ValueError(f"line {number} of --init-file {os.fspath(path)!r} must be '<video> x,y,w,h', got {raw!r}")
        name, box_text = match.group("name"), match.group("box")
        try:
            box = parse_box(box_text)
        except ValueError:
            raise ValueError(f"line {number} of --init-file {os.fspath(path)!r}: the box must be x,y,w,h numbers, "
                             f"got {box_text!r}") from None
        if name in boxes:
            raise ValueError(f"line {number} of --init-file {os.fspath(path)!r} repeats video {name!r}")
        boxes[name] = box
    return boxes


def _box_for(video: Path, boxes: dict[str, tuple[float, float, float, float]], init_file: str) -> tuple[float, ...]:
    for key in (video.name, video.stem):
        if key in boxes:
            return boxes[key]
    raise ValueError(f"--init-file {init_file!r} has no box for video {video.name!r}")


def _videos_in(folder: Path) -> list[Path]:
    """Video files of a folder that holds no images (natural name order); empty otherwise."""
    files = [entry for entry in folder.iterdir() if entry.is_file()]
    if any(p.suffix.lower() in IMAGE_SUFFIXES for p in files):
        return []
    return sorted((p for p in files if p.suffix.lower() in VIDEO_SUFFIXES), key=lambda p: natural_key(p.name))


def _read_init_mask(path: str) -> np.ndarray:
    image = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise ValueError(f"cannot read --init-mask {path!r}")
    return image > 0


def plan_jobs(args: argparse.Namespace) -> list[Job]:
    """The sources of one ``track`` call with their initial targets, checked before any tracker is built."""
    out = Path(args.out)
    source = str(args.source)
    videos = _videos_in(Path(source)) if Path(source).is_dir() else []
    if videos:
        if not args.init_file:
            raise ValueError(f"{source!r} is a folder of {len(videos)} videos: give each video's initial box "
                             "with --init-file (lines '<video> x,y,w,h')")
        boxes = read_init_file(args.init_file)
        return [Job(video.name, str(video), out / video.stem, box=_box_for(video, boxes, args.init_file))
                for video in videos]
    label = f"camera {camera_index(source)}" if camera_index(source) is not None else source
    if args.init_file:
        boxes = read_init_file(args.init_file)
        return [Job(label, source, out, box=_box_for(Path(source), boxes, args.init_file))]
    if args.init:
        return [Job(label, source, out, box=parse_box(args.init))]
    if args.init_mask:
        return [Job(label, source, out, mask=_read_init_mask(args.init_mask))]
    reason = gui_unavailable_reason()
    if reason is not None:
        raise ValueError(f"--init x,y,w,h (or --init-mask) is needed: cannot draw the box interactively, {reason}")
    return [Job(label, source, out)]


class _StopAtBadFrame:
    """Frames of a source until one fails to decode; the failure is kept in ``error``."""

    def __init__(self, frames: Iterable[np.ndarray]) -> None:
        self.frames = frames
        self.error: FrameDecodeError | None = None

    def __iter__(self) -> Iterator[np.ndarray]:
        try:
            yield from self.frames
        except FrameDecodeError as exc:
            self.error = exc


@dataclass
class Outcome:
    frames: int
    stop: str | None = None  # why the run stopped before the end
    status: int = 0


def track_job(
    job: Job,
    tracker: Tracker,
    name: str,
    args: argparse.Namespace,
    stopper: StopOnSignals,
    window: FrameWindow | None,
    say: Any,
) -> Outcome:
    """Track one source into ``job.out_dir``; what was tracked is written even when it stops early."""
    reader = FrameReader(job.source)
    source_frames = reader.frames(args.start, args.end)
    frames = _StopAtBadFrame(source_frames)
    box = job.box
    iterator: Iterable[np.ndarray] = frames
    if box is None and job.mask is None:  # draw the target on the first frame
        stream = iter(frames)
        first = next(stream, None)
        if first is None:
            raise ValueError(f"{job.label!r} yields no frame to draw the target on")
        box = select_box(first)
        iterator = itertools.chain([first], stream)
    total = len(reader)
    total = max(0, min(total, args.end) - args.start) if args.end is not None else max(0, total - args.start)
    recorder = OutputRecorder(job.out_dir, fps=reader.fps, frame_names=reader.frame_names(),
                              first_index=args.start, write_video=not args.no_video,
                              json_stream=sys.stdout if args.json else None, label=job.label)
    outcome = Outcome(frames=0)
    try:
        with tqdm(total=total or None, unit="frame", desc=f"{name} {job.label}" if args.init_file else name) as bar:
            for step in run_tracker(tracker, iterator, init_box=box, init_mask=job.mask):
                annotated = recorder.add(step)
                bar.update(1)
                if window is not None and not window.show(annotated):
                    outcome.stop = "stopped in the window"
                    break
                if stopper.received is not None:
                    outcome.stop = f"interrupted by {stopper.received.name}"
                    outcome.status = 128 + int(stopper.received)
                    break
    finally:
        files = recorder.finish()
        source_frames.close()  # releases a video or camera now, not when collected
        reader.close()
        outcome.frames = recorder.frames_written
    if frames.error is not None and outcome.stop is None:
        outcome.stop, outcome.status = f"stopped: {frames.error}", 1
    first = args.start
    span = f"frames {first}-{first + outcome.frames - 1}" if outcome.frames else "no frames"
    of = f" of {job.label}" if args.init_file else ""
    speed = speed_summary(recorder.init_seconds, recorder.fps_tracked)
    say(f"{name}: {outcome.frames} frames{of} ({span}), {speed} (tracker only)")
    for kind, path in files.items():
        say(f"  {kind}: {path}" + (f" ({recorder.video_codec})" if kind == "video" else ""))
    return outcome


def run(args: argparse.Namespace) -> int:
    if args.start < 0:
        raise ValueError(f"--start must be a frame index >= 0, got {args.start}")
    if args.end is not None and args.end <= args.start:
        raise ValueError(f"--end must be greater than --start={args.start} (it is exclusive), got {args.end}")
    say = (lambda text: print(text, file=sys.stderr)) if args.json else print
    jobs = plan_jobs(args)
    window = None
    if args.show:
        reason = gui_unavailable_reason()
        if reason is None:
            window = FrameWindow()
        else:
            say(f"track: --show: no window, {reason}; tracking on without one")
    name, tracker = create_default_or(args.tracker, **tracker_kwargs(args))
    status = 0
    try:
        with StopOnSignals() as stopper:
            for job in jobs:
                outcome = track_job(job, tracker, name, args, stopper, window, say)
                if outcome.stop is not None:
                    say(f"track: {outcome.stop}; wrote {outcome.frames} frames of {job.label} to {job.out_dir}")
                    status = outcome.status
                    break
    finally:
        if window is not None:
            window.close()
    return status
