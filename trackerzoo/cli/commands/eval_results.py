"""``trackerzoo eval-results``: score existing result files against a dataset.

The result files may come from trackerzoo's runner, pytracking, the GOT-10k toolkit
or the VOT toolkit (see ``trackerzoo.formats.results_io`` for the formats). With
``--json`` the full metrics (curves and per-sequence scores included) are printed as
one JSON object; otherwise a short summary table. ``--plot`` saves the same plot as
``trackerzoo eval``; ``--fps`` adds the speed read from per-frame time files.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from trackerzoo.cli.options import add_dataset_option, add_sequences_option


def json_safe(value: Any) -> Any:
    """``value`` with every non-finite float replaced by ``None``: JSON has no NaN, so any JSON reader accepts it."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def _plot(metrics: dict[str, Any], results: Path, path: Path, title: str) -> Path:
    """The ``eval`` plot of one result folder: success/precision curves, or the EAO curve (VOT)."""
    import numpy as np

    from trackerzoo.evaluation.plots import plot_runs
    from trackerzoo.evaluation.runner_scoring import ScoredRun, run_label

    def curve(key: str) -> np.ndarray | None:
        return None if metrics.get(key) is None else np.asarray(metrics[key], dtype=np.float64)

    run = ScoredRun(run_label(results), results, metrics, success_curve=curve("success_curve"),
                    precision_curve=curve("precision_curve"), eao_curve=curve("eao_curve"))
    if run.success_curve is None and run.eao_curve is None:
        raise ValueError(f"the {metrics['protocol']} protocol has no curves to plot; --plot needs ope, got10k or vot")
    return plot_runs([run], path, title=title)


def run(args: argparse.Namespace) -> int:
    from trackerzoo.cli.options import dataset_from_args
    from trackerzoo.datasets import load_dataset
    from trackerzoo.evaluation.benchmark import PROTOCOLS, protocol_for, score_results
    from trackerzoo.evaluation.plots import plot_title
    from trackerzoo.evaluation.runner_scoring import result_time_files, speed_metrics

    data = dataset_from_args(args)
    dataset = load_dataset(data.kind, data.root, **data.options)
    if args.sequences:
        dataset = dataset.subset(args.sequences)
    protocol = args.protocol or protocol_for(data.kind, dataset)
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; expected one of {PROTOCOLS}")
    extra = {"invalid_frames": args.invalid_frames} if protocol == "ope" else {}
    metrics = score_results(dataset, args.results, protocol, **extra)
    metrics = {"dataset": dataset.name, "kind": data.kind, "sequences": len(dataset), **metrics}
    if args.fps:
        files = result_time_files(args.results, dataset, protocol)
        metrics.update(speed_metrics(files))
        if not all(path.is_file() for path in files):
            missing = next(path for path in files if not path.is_file())
            print(f"trackerzoo eval-results: note: no per-frame time file {str(missing)!r}: fps and init_s unknown",
                  file=sys.stderr)
    if args.plot is not None:
        metrics["plot"] = str(_plot(metrics, Path(args.results), args.plot, plot_title(dataset.name, data.kind)))
    if args.json:
        json.dump(json_safe(metrics), sys.stdout, indent=None if args.compact else 2)
        sys.stdout.write("\n")
        return 0
    skip = {"dataset", "kind", "protocol", "per_sequence", "per_object", "plot"}
    print(f"{dataset.name} ({protocol}, {len(dataset)} sequences)")
    for key, value in metrics.items():
        if key in skip or isinstance(value, (list, dict)):
            continue
        if isinstance(value, float):
            print(f"  {key:>22}: {value:.4f}" if math.isfinite(value) else f"  {key:>22}: n/a")
        else:
            print(f"  {key:>22}: {value}")
    if args.plot is not None:
        print(f"plot: {metrics['plot']}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "eval-results", help="score existing result files against a dataset",
        description="Score result files (x,y,w,h lines; VOT region lines; DAVIS PNGs) against a dataset, "
                    "with the metric names of `trackerzoo eval`.")
    add_dataset_option(parser, legacy_root=True, legacy_option=True)
    parser.add_argument("--results", required=True, help="folder with the result files")
    parser.add_argument("--protocol", choices=("ope", "got10k", "vot", "davis"),
                        help="override the metric protocol implied by the dataset kind")
    add_sequences_option(parser)
    parser.add_argument("--invalid-frames", choices=("count", "exclude"), default="count",
                        help="OPE: frames with absent/unknown ground truth count as failures (default) or are dropped")
    parser.add_argument("--plot", type=Path, default=None,
                        help="save the success/precision plot (VOT: expected overlap) of `trackerzoo eval` here")
    parser.add_argument("--fps", action="store_true",
                        help="add fps (tracking calls) and init_s (first frame) from the per-frame time files "
                             "next to the results (<seq>_time.txt; VOT: <seq>/<run>_time.value)")
    parser.add_argument("--json", action="store_true", help="print all metrics as JSON")
    parser.add_argument("--compact", action="store_true", help="with --json: one line")
    parser.set_defaults(func=run)
