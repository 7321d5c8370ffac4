"""Writes the CRACT regression fixture: boxes and scores on two short fixed sequences.

    python scripts/cract_regression_fixture.py plugins/cract/tests/fixtures/cract_regression.json

The fixture pins CRACT's output (shipped weights, default parameters, one torch thread)
so that refactors of the core (learners, ops, tracking loop) are checked to change
nothing. CRACT's online fit amplifies float32 rounding, so the boxes depend on which
instruction set the libraries pick (oneDNN's AVX-512 convolutions move them by up to 11 px
within 45 frames); the script therefore pins every library to AVX2 (``PINNED_ENV``, set
before torch is imported, overriding the caller's), which makes AVX2 and AVX-512 x86-64
machines compute the same. Regenerate it only for an intended change of CRACT's behaviour,
and say so in the commit. Sequences: the demo clip from the red-jacket man's first annotated frame
(45 frames: four discriminator updates) and a 40-frame procedural sequence (seed 11).
"""

from __future__ import annotations

import os

# The numeric environment of the fixture: oneDNN, MKL, ATen and our kernels on AVX2, one
# thread. Applied before torch is imported (the libraries read these once, at start-up).
PINNED_ENV = {
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    "MKL_ENABLE_INSTRUCTIONS": "AVX2",
    "ATEN_CPU_CAPABILITY": "avx2",
    "TRACKERZOO_CPU_ISA": "avx2",
    "OMP_NUM_THREADS": "1",
}
os.environ.update(PINNED_ENV)

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

import trackerzoo  # noqa: E402
from trackerzoo.datasets.synthetic import DatasetSpec, SceneConfig, generate_sequence  # noqa: E402
from trackerzoo.demo_data import DEMO_CLIP, demo_person  # noqa: E402
from trackerzoo.io import open_frames  # noqa: E402
from trackerzoo.session import run_tracker  # noqa: E402

DEMO_FRAMES = 45
PROCEDURAL_FRAMES = 40


def fixture_sequences() -> dict[str, tuple[list[np.ndarray], tuple[float, float, float, float]]]:
    """name -> (RGB frames, initial box x, y, w, h) of the two fixed sequences."""
    person = demo_person("red-jacket")
    demo = list(itertools.islice(open_frames(DEMO_CLIP), person.first_frame, person.first_frame + DEMO_FRAMES))
    spec = DatasetSpec(sequences=1, frames=(PROCEDURAL_FRAMES, PROCEDURAL_FRAMES), seed=11, procedural=True,
                       config=dataclasses.replace(SceneConfig(), frame_size=(320, 240)))
    _scene, truths = generate_sequence(spec, 0)
    truths = list(truths)
    return {
        "demo_red_jacket": (demo, tuple(float(v) for v in person.init_box)),
        "procedural_seed11": ([t.image for t in truths], tuple(float(v) for v in truths[0].box)),
    }


def run_cract(frames: list[np.ndarray], init_box) -> tuple[list[list[float]], list[float]]:
    """Boxes [x, y, w, h] and ranking scores (Eq. 10, ``extra["ranking"]``) of frames 1..n, one torch thread, CPU,
    shipped weights. The ranking score was ``Prediction.score`` until issue #22 made that the calibrated presence."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        tracker = trackerzoo.create("cract", device="cpu")
        predictions = [step.prediction for step in run_tracker(tracker, frames, init_box=init_box)][1:]
    finally:
        torch.set_num_threads(threads)
    return [[float(v) for v in p.box] for p in predictions], [float(p.extra["ranking"]) for p in predictions]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    record = {}
    for name, (frames, init_box) in fixture_sequences().items():
        boxes, scores = run_cract(frames, init_box)
        record[name] = {"init_box": list(init_box), "boxes": boxes, "scores": scores}
    args.out.write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {args.out}: " + ", ".join(f"{k}: {len(v['boxes'])} frames" for k, v in record.items()))


if __name__ == "__main__":
    main()
