"""``trackerzoo make-dataset``: generate composited sequences (GOT-10k + VOT layouts)."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path


def _frames(text: str) -> tuple[int, int]:
    """``T`` or ``TMIN-TMAX``."""
    low, sep, high = text.partition("-")
    try:
        values = (int(low), int(high)) if sep else (int(low), int(low))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--frames must be T or TMIN-TMAX, got {text!r}") from None
    return values


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "make-dataset", help="generate composited tracking sequences with exact boxes and masks",
        description="Generate composited sequences (cut-outs over photos/videos) in GOT-10k and VOT layouts. "
                    "Real assets come from scripts/fetch_assets.sh; --procedural needs none.")
    parser.add_argument("--out", required=True, type=Path, help="output folder (created; a rerun resumes)")
    parser.add_argument("--preset", default=None, help="a named fixed set, e.g. zoo-synth-val")
    parser.add_argument("--sequences", type=int, default=None, help="number of sequences")
    parser.add_argument("--frames", type=_frames, default=None, help="frames per sequence: T or TMIN-TMAX")
    parser.add_argument("--seed", type=int, default=None, help="random seed (the set is a function of it)")
    parser.add_argument("--split", choices=("train", "val"), default=None,
                        help="asset split to draw from (val = held-out cut-outs and backgrounds)")
    parser.add_argument("--procedural", action="store_true", help="textured shapes instead of real assets")
    parser.add_argument("--size", default=None, help="frame size WxH (default 640x480)")
    parser.add_argument("--companions", type=float, default=None,
                        help="probability that the target walks with a look-alike from frame 0 (default 0)")
    parser.add_argument("--companion-spacing", choices=("size", "extent"), default=None,
                        help="unit of the companion's offset: the target's longest side (size, the default) or "
                             "its width across the offset (extent: thin targets walk shoulder to shoulder)")
    parser.add_argument("--assets", type=Path, default=None, help="asset folder (default $TRACKERZOO_ASSETS)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes")
    parser.add_argument("--jpeg-quality", type=int, default=90)
    parser.set_defaults(func=run)


def _size(text: str) -> tuple[int, int]:
    width, _sep, height = text.lower().partition("x")
    try:
        return int(width), int(height)
    except ValueError:
        raise ValueError(f"--size must be WxH, e.g. 640x480, got {text!r}") from None


def run(args: argparse.Namespace) -> int:
    from trackerzoo.datasets.synthetic import DatasetSpec, build_dataset, preset

    if args.preset is not None:
        fixed = ("sequences", "frames", "seed", "split", "size", "companions", "companion_spacing")
        overridden = [name for name in fixed if getattr(args, name) is not None]
        overridden += ["procedural"] if args.procedural else []
        if overridden:
            flags = ", ".join("--" + name.replace("_", "-") for name in overridden)
            raise ValueError(f"--preset {args.preset} fixes the set; drop {flags}")
        spec = preset(args.preset)
    else:
        if args.sequences is None or args.frames is None or args.seed is None:
            raise ValueError("give --preset NAME, or all of --sequences, --frames and --seed")
        spec = DatasetSpec(sequences=args.sequences, frames=args.frames, seed=args.seed,
                           split=args.split or "train", procedural=args.procedural)
        if args.size is not None:
            spec = dataclasses.replace(spec, config=dataclasses.replace(spec.config, frame_size=_size(args.size)))
        if args.companions is not None:
            spec = dataclasses.replace(spec, config=dataclasses.replace(spec.config, p_companion=args.companions))
        if args.companion_spacing is not None:
            spec = dataclasses.replace(spec, config=dataclasses.replace(spec.config,
                                                                        companion_spacing=args.companion_spacing))
    if args.workers < 1:
        raise ValueError(f"--workers must be >= 1, got {args.workers}")
    if not 1 <= args.jpeg_quality <= 100:
        raise ValueError(f"--jpeg-quality must be in 1..100, got {args.jpeg_quality}")
    root = build_dataset(spec, args.out, workers=args.workers, assets_dir=args.assets,
                         jpeg_quality=args.jpeg_quality)
    print(f"wrote {spec.sequences} sequences to {root} (GOT-10k layout in {root / 'got10k'}, "
          f"VOT layout in {root / 'vot'}); load with --dataset synthetic:{root}")
    return 0
