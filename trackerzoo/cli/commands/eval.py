"""``trackerzoo eval``: run a tracker over a dataset, score it, compare, plot."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "eval", help="run a tracker over a dataset (resumable, parallel), print metrics, save a plot",
        description="Run a tracker over every sequence of a dataset (VOT kind: every anchor run), writing "
                    "community-format result files into --out; rerunning the same command resumes. Then "
                    "score --out and any --compare folders and save a success/precision plot.")
    parser.add_argument("--tracker", required=True,
                        help="registered tracker name (see `trackerzoo list`) or module:Class of a Tracker")
    parser.add_argument("--dataset", required=True, help="<kind>:<root>, e.g. synthetic:/data/zoo-synth-val")
    parser.add_argument("--out", required=True, type=Path, help="result folder (created; reused to resume)")
    parser.add_argument("--workers", type=int, default=1, help="parallel worker processes (local executor)")
    parser.add_argument("--executor", choices=("local", "ray"), default="local",
                        help="local processes, or Ray tasks (needs the optional 'ray' package)")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads per worker")
    parser.add_argument("--compare", nargs="*", type=Path, default=[],
                        help="other result folders on the same dataset to include in table and plot")
    parser.add_argument("--param", action="append", metavar="KEY=VALUE", help="tracker parameter override")
    parser.add_argument("--variant", default=None)
    parser.add_argument("--weights", default="default")
    parser.add_argument("--device", default="auto", help="device for the tracker (auto, cpu, cuda, cuda:1 ...)")
    parser.add_argument("--sequences", nargs="*", default=None, help="only these sequence names")
    parser.add_argument("--plot", type=Path, default=None, help="plot path (default <out>/plot.png)")
    parser.add_argument("--json", action="store_true", help="print metrics as JSON instead of a table")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from trackerzoo.cli.options import parse_overrides
    from trackerzoo.evaluation.plots import plot_eao, plot_success_precision
    from trackerzoo.evaluation.runner import RunContext, TrackerSpec, parse_dataset_spec, run_evaluation
    from trackerzoo.evaluation.runner_executors import make_executor
    from trackerzoo.evaluation.runner_scoring import format_table, score_folder

    kind, root = parse_dataset_spec(args.dataset)
    if args.workers < 1:
        raise ValueError(f"--workers must be >= 1, got {args.workers}")
    if args.threads < 1:
        raise ValueError(f"--threads must be >= 1, got {args.threads}")
    tracker = TrackerSpec(args.tracker, parse_overrides(args.param), args.variant, args.weights, args.device)
    context = RunContext(tracker, kind, str(root), str(args.out), args.threads)
    if ":" not in args.tracker:
        import trackerzoo

        trackerzoo.api.default_registry().get(args.tracker)  # unknown name: fail before spawning workers
    executor = make_executor(args.executor, args.workers)
    run_evaluation(context, executor, names=args.sequences, progress=not args.no_progress)

    from trackerzoo.evaluation.runner import load_cached_dataset

    dataset = load_cached_dataset(kind, str(root))
    if args.sequences:
        dataset = dataset.subset(args.sequences)
    scored = [score_folder(folder, dataset, kind) for folder in [args.out, *args.compare]]
    plot_path = args.plot or args.out / "plot.png"
    if kind == "vot":
        plot_eao(scored, plot_path, title=f"{dataset.name} ({kind})")
    else:
        plot_success_precision(scored, plot_path, title=f"{dataset.name} ({kind})")
    if args.json:
        from trackerzoo.cli.commands.eval_results import json_safe

        print(json.dumps(json_safe({"dataset": args.dataset, "plot": str(plot_path),
                                    "runs": [{"label": r.label, "folder": str(r.folder), **r.metrics}
                                             for r in scored]}), indent=2))
    else:
        print(format_table(scored))
        print(f"plot: {plot_path}")
    return 0
