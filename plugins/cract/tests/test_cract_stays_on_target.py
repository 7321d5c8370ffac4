"""With the shipped weights, CRACT follows a procedural target."""

from __future__ import annotations

import dataclasses

import numpy as np

import trackerzoo
from trackerzoo.datasets.synthetic import DatasetSpec, SceneConfig, generate_sequence
from trackerzoo.geometry import box_iou_elementwise


def test_shipped_weights_stay_on_a_moving_procedural_target():
    tracker = trackerzoo.create("cract", device="cpu")  # the shipped weights: weights/cract_mobilenetv2
    spec = DatasetSpec(sequences=1, frames=(40, 40), seed=11, procedural=True,
                       config=dataclasses.replace(SceneConfig(), frame_size=(320, 240)))
    _scene, frames = generate_sequence(spec, 0)
    truths = list(frames)
    tracker.initialize(truths[0].image, truths[0].box)
    overlaps = []
    for truth in truths[1:]:
        prediction = tracker.track(truth.image)
        if truth.visible and np.isfinite(truth.box).all():
            overlaps.append(float(box_iou_elementwise(np.array(prediction.box), truth.box)))
    assert np.mean(overlaps) > 0.5
    assert np.mean(np.array(overlaps) > 0.3) > 0.8
