"""``trackerzoo eval-results``: score existing result files against a dataset.

The result files may come from trackerzoo's runner, pytracking, the GOT-10k toolkit
or the VOT toolkit (see ``trackerzoo.formats.results_io`` for the formats). With
``--json`` the full metrics (curves and per-sequence scores included) are printed as
one JSON object; otherwise a short summary table.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any


def _parse_option(text: str) -> tuple[str, Any]:
    """``key=value`` loader option; the value is read as JSON when it parses (numbers, lists)."""
    if "=" not in text:
        raise ValueError(f"dataset option {text!r} is not key=value")
    key, value = text.split("=", 1)
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def json_safe(value: Any) -> Any:
    """JSON has no NaN: write null instead so any JSON reader accepts the output (``eval`` uses it too)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def run(args: argparse.Namespace) -> int:
    from trackerzoo.datasets import load_dataset
    from trackerzoo.evaluation.benchmark import PROTOCOLS, protocol_for, score_results

    options = dict(_parse_option(o) for o in args.option or [])
    dataset = load_dataset(args.dataset, args.root, **options)
    if args.sequences:
        dataset = dataset.subset([s.strip() for s in args.sequences.split(",") if s.strip()])
    protocol = args.protocol or protocol_for(args.dataset, dataset)
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; expected one of {PROTOCOLS}")
    extra = {"invalid_frames": args.invalid_frames} if protocol == "ope" else {}
    metrics = score_results(dataset, args.results, protocol, **extra)
    metrics = {"dataset": dataset.name, "kind": args.dataset, "sequences": len(dataset), **metrics}
    if args.json:
        json.dump(json_safe(metrics), sys.stdout, indent=None if args.compact else 2)
        sys.stdout.write("\n")
        return 0
    skip = {"dataset", "kind", "protocol", "per_sequence", "per_object"}
    print(f"{dataset.name} ({protocol}, {len(dataset)} sequences)")
    for key, value in metrics.items():
        if key in skip or isinstance(value, (list, dict)):
            continue
        print(f"  {key:>22}: {value:.4f}" if isinstance(value, float) else f"  {key:>22}: {value}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "eval-results", help="score existing result files against a dataset",
        description="Score result files (x,y,w,h lines; VOT region lines; DAVIS PNGs) against a dataset.")
    parser.add_argument("--dataset", required=True, help="dataset kind: otb, lasot, got10k, vot, davis, ...")
    parser.add_argument("--root", required=True, help="dataset root folder (or video file for 'plain')")
    parser.add_argument("--results", required=True, help="folder with the result files")
    parser.add_argument("--protocol", choices=("ope", "got10k", "vot", "davis"),
                        help="override the metric protocol implied by the dataset kind")
    parser.add_argument("--option", action="append", metavar="KEY=VALUE",
                        help="loader option, e.g. split=val, year=2016, fps=240 (repeatable)")
    parser.add_argument("--sequences", help="comma-separated subset of sequence names")
    parser.add_argument("--invalid-frames", choices=("count", "exclude"), default="count",
                        help="OPE: frames with absent/unknown ground truth count as failures (default) or are dropped")
    parser.add_argument("--json", action="store_true", help="print all metrics as JSON")
    parser.add_argument("--compact", action="store_true", help="with --json: one line")
    parser.set_defaults(func=run)
