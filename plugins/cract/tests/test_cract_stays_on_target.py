"""With the shipped weights, CRACT follows a procedural target and the demo clip's person."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import torch

import trackerzoo
from trackerzoo.datasets.synthetic import DatasetSpec, SceneConfig, generate_sequence
from trackerzoo.demo_data import DEMO_CLIP, check_keyframes, demo_person
from trackerzoo.geometry import box_iou_elementwise
from trackerzoo.io import open_frames
from trackerzoo.session import run_tracker, track_frames


def test_shipped_weights_stay_on_a_moving_procedural_target():
    tracker = trackerzoo.create("cract", device="cpu")  # the shipped weights: weights/cract_mobilenetv2
    spec = DatasetSpec(sequences=1, frames=(40, 40), seed=11, procedural=True,
                       config=dataclasses.replace(SceneConfig(), frame_size=(320, 240)))
    _scene, frames = generate_sequence(spec, 0)
    truths = list(frames)
    steps = run_tracker(tracker, (truth.image for truth in truths), init_box=truths[0].box)
    overlaps = []
    for step in steps:
        truth = truths[step.index]
        if step.index > 0 and truth.visible and np.isfinite(truth.box).all():
            overlaps.append(float(box_iou_elementwise(np.array(step.prediction.box), truth.box)))
    assert np.mean(overlaps) > 0.5
    assert np.mean(np.array(overlaps) > 0.3) > 0.8


def test_shipped_weights_stay_with_the_demo_person_on_real_video():
    """The demo's claim, on the bundled clip: the box stays with the man in the red jacket.

    The outcome depends on floating-point details (thread count, CPU): measured here
    18/18 keyframes with two threads and 14/18 with one, where the box spans him and the
    woman beside him and its centre falls between them. So the test runs one thread and
    asserts what held in both: mostly on him, and never away from the pair.
    """
    person, partner = demo_person("red-jacket"), demo_person("fair-hair")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        frames = itertools.islice(open_frames(DEMO_CLIP), person.first_frame, None)
        run = track_frames(trackerzoo.create("cract", device="cpu"), frames, init_box=person.init_box)
    finally:
        torch.set_num_threads(threads)
    boxes = [prediction.box for prediction in run.predictions]
    assert check_keyframes(person, boxes, person.first_frame).on_target >= 12
    for frame, (px, py, pw, ph) in person.boxes.items():
        qx, qy, qw, qh = partner.boxes[frame]
        x, y, w, h = boxes[frame - person.first_frame]
        cx, cy = x + w / 2.0, y + h / 2.0
        assert min(px, qx) <= cx <= max(px + pw, qx + qw) and min(py, qy) <= cy <= max(py + ph, qy + qh), frame
