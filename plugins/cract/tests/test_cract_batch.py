"""CRACT's native batch (``create_batch("cract", n)``) against single trackers."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from trackerzoo_cract.batch import CractBatchTracker

import trackerzoo
from trackerzoo.datasets.synthetic import DatasetSpec, SceneConfig, generate_sequence

# Frequent discriminator updates so that the per-slot online learning runs inside short clips;
# a smaller first-frame fit keeps the test quick.
PARAMS = {"device": "cpu", "update_interval": 2, "init_positives": 50, "init_negatives": 200,
          "init_gauss_newton_iters": 2}


@pytest.fixture(scope="module")
def clips() -> list[tuple[list[np.ndarray], np.ndarray]]:
    """Four procedural 320x240 sequences of 6, 3, 5 and 4 frames."""
    spec = DatasetSpec(sequences=4, frames=(8, 8), seed=11, procedural=True,
                       config=dataclasses.replace(SceneConfig(), frame_size=(320, 240)))
    result = []
    for index, length in enumerate((6, 3, 5, 4)):
        _scene, truths = generate_sequence(spec, index)
        truths = list(truths)[:length]
        result.append(([t.image for t in truths], np.stack([t.box for t in truths])))
    return result


@pytest.fixture(scope="module")
def singles(clips) -> list[np.ndarray]:
    """Boxes of each clip tracked by its own ``CractTracker``."""
    result = []
    for frames, boxes in clips:
        tracker = trackerzoo.create("cract", **PARAMS)
        tracker.initialize(frames[0], box=boxes[0])
        result.append(np.array([tracker.track(frame).box for frame in frames[1:]]))
    return result


def _batched_runs(batch, clips) -> list[np.ndarray]:
    """Slot 0: clip 0; slot 1: clip 1, then clip 3 once clip 1 ends; slot 2: idle one step, then clip 2."""
    got: list[list] = [[] for _ in clips]
    batch.initialize([clips[0][0][0], clips[1][0][0], None], [clips[0][1][0], clips[1][1][0], None])
    plan = {0: [0], 1: [1, 3], 2: [2]}  # clips each slot runs, in order
    position = {0: 1, 1: 1, 2: None}  # next frame of each slot's current clip (None: not started)
    step = 0
    while any(plan.values()):
        step += 1
        if step == 2:
            batch.initialize_slot(2, clips[2][0][0], clips[2][1][0])
            position[2] = 1
        frames = []
        for slot in range(3):
            clip = plan[slot][0] if plan[slot] and position[slot] is not None else None
            frames.append(None if clip is None else clips[clip][0][position[slot]])
        predictions = batch.track(frames)
        for slot, prediction in enumerate(predictions):
            if prediction is None:
                continue
            clip = plan[slot][0]
            got[clip].append(prediction.box)
            position[slot] += 1
            if position[slot] == len(clips[clip][0]):  # the clip ended: release or refill the slot
                plan[slot].pop(0)
                if plan[slot]:
                    following = plan[slot][0]
                    batch.initialize_slot(slot, clips[following][0][0], clips[following][1][0])
                    position[slot] = 1
                else:
                    batch.release(slot)
    return [np.array(boxes) for boxes in got]


def test_batch_equals_single_trackers_with_slots_ending_and_replaced(clips, singles):
    batch = trackerzoo.create_batch("cract", 3, **PARAMS)
    assert isinstance(batch, CractBatchTracker) and not batch.batched_heads
    got = _batched_runs(batch, clips)
    assert batch.active == (False, False, False)
    for clip, boxes, expected in zip(clips, got, singles, strict=True):
        assert boxes.shape == expected.shape == (len(clip[0]) - 1, 4)
        np.testing.assert_allclose(boxes, expected, rtol=0, atol=1e-4)


def test_batched_heads_stay_within_float_noise(clips, singles):
    prototype = trackerzoo.create("cract", **PARAMS)
    batch = CractBatchTracker(prototype, 3, batched_heads=True)
    for boxes, expected in zip(_batched_runs(batch, clips), singles, strict=True):
        # Matrix products over all slots' proposals round differently from per-slot ones.
        np.testing.assert_allclose(boxes, expected, rtol=0, atol=1e-2)


def test_slots_share_the_network_not_the_state(clips):
    batch = trackerzoo.create_batch("cract", 2, **PARAMS)
    batch.initialize([clips[0][0][0], clips[1][0][0]], [clips[0][1][0], clips[1][1][0]])
    first, second = batch.slots
    assert first.network is second.network is batch.network
    assert first.template is not second.template
    assert first.discriminator is not second.discriminator
    batch.release(0)
    assert batch.active == (False, True)
    assert not hasattr(batch.slots[0], "template")  # the finished sequence's state is dropped


def test_prototype_must_be_cract():
    with pytest.raises(ValueError, match="needs a CractTracker prototype, got Drifter"):
        CractBatchTracker(type("Drifter", (), {})(), 2)
