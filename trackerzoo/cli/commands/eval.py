"""``trackerzoo eval``: run a tracker over a dataset, score it, compare, plot."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from trackerzoo.cli.commands.eval_results import json_safe
from trackerzoo.cli.options import add_dataset_option, add_sequences_option, add_tracker_options


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "eval", help="run a tracker over a dataset (resumable, parallel), print metrics, save a plot",
        description="Run a tracker over every sequence of a dataset (VOT kind: every anchor run), writing "
                    "community-format result files into --out; rerunning the same command resumes. Then "
                    "score --out and any --compare folders and save a success/precision plot (VOT: an "
                    "expected-overlap plot). Speed: fps counts the tracking calls, init_s the first frame.")
    add_tracker_options(parser, required=True, deprecated_set=("--param",), threads_default=1,
                        threads_help="CPU threads per worker ('auto': the free cores shared among the workers)")
    add_dataset_option(parser)
    parser.add_argument("--out", required=True, type=Path, help="result folder (created; reused to resume)")
    parser.add_argument("--workers", type=int, default=1, help="parallel worker processes (local executor)")
    parser.add_argument("--executor", choices=("local", "ray"), default="local",
                        help="local processes, or Ray tasks (needs the optional 'ray' package)")
    parser.add_argument("--ray-address", default=None,
                        help="Ray cluster to join (head host:port, or 'auto'); default RAY_ADDRESS, else a local "
                             "Ray instance")
    parser.add_argument("--ray-cpus", type=float, default=1.0, help="CPUs each Ray task reserves (default 1)")
    parser.add_argument("--ray-gpus", type=float, default=0.0,
                        help="GPUs each Ray task reserves; a fraction such as 0.25 lets 4 trackers share a GPU")
    parser.add_argument("--ship-frames", action="store_true",
                        help="Ray: the driver sends each sequence's frames to its task (a dataset only the "
                             "driver can read); without it every node must read the dataset root")
    parser.add_argument("--batch", type=int, default=1,
                        help="sequences each worker tracks in lockstep through one batched tracker "
                             "(trackerzoo.create_batch; same results, higher throughput for trackers "
                             "with a native batch such as cract)")
    parser.add_argument("--compare", nargs="*", type=Path, default=[],
                        help="other result folders on the same dataset to include in table and plot")
    parser.add_argument("--vot-region", choices=("auto", "rectangle", "rotated"), default="auto",
                        help="VOT layout: what each result line holds -- auto: the mask when the tracker "
                             "gives one, else the box; rectangle: the axis-aligned box; rotated: the rotated "
                             "box as a polygon (the axis-aligned box on frames without one). Overlaps are "
                             "scored against the same ground truth either way")
    add_sequences_option(parser)
    parser.add_argument("--plot", type=Path, default=None, help="plot path (default <out>/plot.png)")
    parser.add_argument("--json", action="store_true", help="print metrics as JSON instead of a table")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from trackerzoo.cli.options import dataset_from_args, parse_overrides, parse_weights
    from trackerzoo.evaluation.plots import plot_runs, plot_title
    from trackerzoo.evaluation.runner import RunContext, TrackerSpec, load_cached_dataset, run_evaluation
    from trackerzoo.evaluation.runner_executors import make_executor
    from trackerzoo.evaluation.runner_scoring import format_table, score_folder

    data = dataset_from_args(args)
    if args.workers < 1:
        raise ValueError(f"--workers must be >= 1, got {args.workers}")
    threads = args.threads
    if threads == "auto":
        from trackerzoo.threads import available_cores, free_cores, load_average, other_load

        threads = max(1, free_cores(available_cores(), other_load(load_average())) // args.workers)
    if args.batch < 1:
        raise ValueError(f"--batch must be >= 1, got {args.batch}")
    tracker = TrackerSpec(args.tracker, parse_overrides(args.set), args.variant, parse_weights(args.weights),
                          args.device)
    options = tuple(sorted(data.options.items()))
    context = RunContext(tracker, data.kind, str(data.root), str(args.out), threads, options, args.batch,
                         args.vot_region)
    if ":" not in args.tracker:
        import trackerzoo

        trackerzoo.api.default_registry().get(args.tracker)  # unknown name: fail before spawning workers
    executor = make_executor(args.executor, args.workers, ray_address=args.ray_address, ray_cpus=args.ray_cpus,
                             ray_gpus=args.ray_gpus, ship_frames=args.ship_frames)
    results = run_evaluation(context, executor, names=args.sequences, progress=not args.no_progress)
    nodes = Counter(result.node for result in results if result.node is not None)
    if nodes:  # Ray: where the tasks ran
        print(f"ray: {sum(nodes.values())} tasks on {len(nodes)} node(s): "
              + ", ".join(f"{node} x{count}" for node, count in sorted(nodes.items())), file=sys.stderr)

    dataset = load_cached_dataset(data.kind, str(data.root), options)
    if args.sequences:
        dataset = dataset.subset(args.sequences)
    scored = [score_folder(folder, dataset, data.kind) for folder in [args.out, *args.compare]]
    plot_path = plot_runs(scored, args.plot or args.out / "plot.png", title=plot_title(dataset.name, data.kind))
    if args.json:
        report = {"dataset": args.dataset, "plot": str(plot_path),
                  "runs": [{"label": r.label, "folder": str(r.folder), **r.metrics} for r in scored]}
        print(json.dumps(json_safe(report), indent=2))  # unknown speed (no time files): null, not NaN
    else:
        print(format_table(scored))
        print(f"plot: {plot_path}")
    return 0
