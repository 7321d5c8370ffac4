"""ARN ablations on a dataset with masks (paper Sec. 5.3): cyclic steps, MMS stages, ARN, false positives.

    python scripts/arn_ablations.py --dataset synthetic:/data/zsv --weights W.safetensors \
        [--sequences N] [--frames K] [--out ablations.json]

For the first ``N`` sequences, the first ``K`` frames:
- first-frame mask IoU in the template crop after r = 0..3 cyclic steps from the box
  (r = 0 is the box itself), and with the mask given (the LUT's upper bound);
- tracking from the mask with the full model, MMS with 1 or 2 stages, without ARN, and
  from the box with r = 0 and r = 3: mean J (mask IoU per frame, empty vs empty = 1),
  mean box IoU, and the false-positive ratio FPR = mean over frames of FP pixels /
  target pixels (paper Eq. 6; frames with a visible target).
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch

import trackerzoo
from trackerzoo.datasets import load_dataset
from trackerzoo.geometry import box_iou_elementwise, mask_iou

SETTINGS = {
    "full (mask init)": ({}, True),
    "MMS 1 stage (mask init)": ({"mask_stages": 1}, True),
    "MMS 2 stages (mask init)": ({"mask_stages": 2}, True),
    "without ARN (mask init)": ({"use_arn": False}, True),
    "box init, r = 0": ({"cyclic_steps": 0}, False),
    "box init, r = 3": ({"cyclic_steps": 3}, False),
}


def first_frame_ious(sequences, weights: str | None, variant: str) -> dict[str, float]:
    scores: dict[str, list[float]] = {}
    for sequence in sequences:
        frame, box, truth = sequence.frame(0), tuple(float(v) for v in sequence.boxes[0]), sequence.mask(0)
        for steps in (0, 1, 2, 3, "mask"):
            tracker = trackerzoo.create("arn", variant=variant, weights=weights, device="cpu",
                                        cyclic_steps=0 if steps == "mask" else steps)
            tracker.initialize(frame, box, truth if steps == "mask" else None)
            crop = tracker._crop(torch.from_numpy(truth.astype(np.float32))[None, None],
                                 tracker._template_side(), tracker.params.template_size)[0][0, 0] > 0.5
            iou = mask_iou(tracker.first_frame_mask_in_template(), crop.numpy())
            scores.setdefault(f"r = {steps}" if steps != "mask" else "mask given", []).append(float(iou))
    return {name: float(np.mean(values)) for name, values in scores.items()}


def tracking(sequences, weights: str | None, variant: str, frames: int) -> dict[str, dict[str, float]]:
    results = {}
    for name, (params, from_mask) in SETTINGS.items():
        js, ious, fprs = [], [], []
        for sequence in sequences:
            tracker = trackerzoo.create("arn", variant=variant, weights=weights, device="cpu", **params)
            tracker.initialize(sequence.frame(0), tuple(float(v) for v in sequence.boxes[0]),
                               sequence.mask(0) if from_mask else None)
            for i in range(1, min(frames, len(sequence))):
                prediction = tracker.track(sequence.frame(i))
                truth = sequence.mask(i)
                js.append(float(mask_iou(prediction.mask, truth)))
                if np.isfinite(sequence.boxes[i]).all() and truth.any():
                    ious.append(float(box_iou_elementwise(np.array(prediction.box), sequence.boxes[i])))
                    fprs.append(float((prediction.mask & ~truth).sum() / truth.sum()))
        results[name] = {"J": float(np.mean(js)), "box_iou": float(np.mean(ious)), "FPR": float(np.mean(fprs))}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", required=True, help="kind:root of a layout with masks")
    parser.add_argument("--weights", default="default")
    parser.add_argument("--variant", default="mobilenetv2")
    parser.add_argument("--sequences", type=int, default=10)
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    kind, _, root = args.dataset.partition(":")
    dataset = load_dataset(kind, root)
    sequences = [dataset[i] for i in range(min(args.sequences, len(dataset)))]
    weights = None if args.weights == "none" else args.weights
    report = {"dataset": args.dataset, "sequences": [s.name for s in sequences], "frames": args.frames,
              "first_frame_mask_iou": first_frame_ious(sequences, weights, args.variant),
              "tracking": tracking(sequences, weights, args.variant, args.frames)}
    print(json.dumps(report, indent=1))
    if args.out:
        with open(args.out, "w") as handle:
            json.dump(report, handle, indent=1)


if __name__ == "__main__":
    main()
