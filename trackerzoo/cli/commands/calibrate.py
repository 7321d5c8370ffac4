"""``trackerzoo calibrate``: fit a tracker's presence calibration (Platt scaling) on held-out sequences.

Runs the tracker short-term over every sequence, reads the raw presence score each frame
reports in ``Prediction.extra["presence_raw"]``, labels the frame on target when the target
is visible and the box overlaps it with IoU >= 0.5, and fits ``trackerzoo.calibration``'s
Platt map. Prints the fitted ``slope``/``intercept`` with the expected calibration error
(ECE, 10 bins) of the raw score (clipped to [0, 1]) and of the calibrated confidence, on the
same frames. ``--frames-out`` saves the per-frame raw scores and labels (JSON) so the fit
can be repeated without tracking again. Use the held-out preset ``zoo-synth-calib``
(``trackerzoo make-dataset --preset zoo-synth-calib``), never a benchmark.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from trackerzoo.cli.options import add_dataset_option, add_sequences_option, add_tracker_options, tracker_kwargs


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "calibrate",
        help="fit a tracker's presence calibration (raw score -> P(on target)) on held-out sequences",
        description=__doc__.split("\n\n", 1)[1].replace("``", "'"),
    )
    add_tracker_options(parser, required=True, threads_default=1)
    add_dataset_option(parser)
    add_sequences_option(parser)
    parser.add_argument("--frames-out", type=Path, default=None, help="save per-frame raw scores and labels (JSON)")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")
    parser.set_defaults(func=run)


def _track(tracker: Any, sequence: Any) -> tuple[list[float], list[tuple[float, float, float, float]]]:
    """Raw presence scores and boxes of frames 1.. of ``sequence``, initialised as OPE does (``ope_target``)."""
    from trackerzoo.session import ope_target

    raw, boxes = [], []
    _, init_box, init_mask = ope_target(sequence, getattr(tracker, "accepts_mask", False))
    tracker.initialize(sequence.frame(0), box=init_box, mask=init_mask)
    for index in range(1, len(sequence)):
        prediction = tracker.track(sequence.frame(index))
        if "presence_raw" not in prediction.extra:
            raise ValueError(f"tracker {type(tracker).__name__} reports no raw presence score "
                             "(Prediction.extra['presence_raw']): it has no presence calibration to fit")
        raw.append(float(prediction.extra["presence_raw"]))
        boxes.append(prediction.box)
    return raw, boxes


def run(args: argparse.Namespace) -> int:
    import numpy as np

    import trackerzoo
    from trackerzoo.calibration import expected_calibration_error, fit_platt, on_target_labels
    from trackerzoo.cli.options import dataset_from_args
    from trackerzoo.datasets import load_dataset

    data = dataset_from_args(args)
    dataset = load_dataset(data.kind, data.root, **data.options)
    if args.sequences:
        dataset = dataset.subset(args.sequences)
    kwargs = tracker_kwargs(args)
    tracker = trackerzoo.create(args.tracker, **kwargs)
    raw: list[float] = []
    labels: list[bool] = []
    per_sequence: dict[str, Any] = {}
    for sequence in dataset:
        scores, boxes = _track(tracker, sequence)
        visible = sequence.visible
        hits = on_target_labels(np.asarray(boxes), sequence.boxes[1:], None if visible is None else visible[1:])
        per_sequence[sequence.name] = {"raw": scores, "on_target": hits.tolist()}
        raw += scores
        labels += hits.tolist()
        print(f"{sequence.name}: {len(scores)} frames, {int(hits.sum())} on target", file=sys.stderr)
    fitted_on = (f"{args.tracker} {tracker.variant or ''} weights={kwargs['weights']} "
                 f"on {dataset.name} ({len(raw)} frames)")
    calibration = fit_platt(raw, labels, fitted_on=" ".join(fitted_on.split()))
    calibrated = [calibration(value) for value in raw]
    result = {
        "tracker": args.tracker, "variant": tracker.variant, "weights": kwargs["weights"], "dataset": dataset.name,
        "frames": len(raw), "on_target": int(sum(labels)),
        "slope": calibration.slope, "intercept": calibration.intercept,
        "ece_raw": expected_calibration_error(raw, labels),
        "ece_calibrated": expected_calibration_error(calibrated, labels),
        "raw_range": [float(min(raw)), float(max(raw))],
    }
    if args.frames_out is not None:
        args.frames_out.parent.mkdir(parents=True, exist_ok=True)
        args.frames_out.write_text(json.dumps({**result, "sequences": per_sequence}))
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{args.tracker}: {result['frames']} frames, {result['on_target']} on target; "
              f"PresenceCalibration(slope={calibration.slope:.4f}, intercept={calibration.intercept:.4f}); "
              f"ECE raw {result['ece_raw']:.3f} -> calibrated {result['ece_calibrated']:.3f}")
    return 0
