"""Batched tracking: ``create_batch``, the ``BatchTracker`` protocol and the loop fallback."""

from __future__ import annotations

import types

import numpy as np
import pytest

import trackerzoo
from trackerzoo.batch import BatchTracker, LoopBatchTracker
from trackerzoo.errors import NotInitializedError
from trackerzoo.registry import load_registry, use_registry


class Drifter(trackerzoo.Tracker):
    """Moves its box by a per-instance step that depends on the frame's mean (state lives on the instance)."""

    def _initialize(self, frame, box, mask):
        self._box = np.asarray(box, dtype=np.float64)
        self._frames = 0

    def _track(self, frame):
        self._frames += 1
        self._box = self._box + np.array([float(frame.mean()) / 100.0, self._frames, 0.0, 0.0])
        return trackerzoo.Prediction(box=tuple(self._box), score=float(self._frames))


def _frames(seed: int, count: int, hw: tuple[int, int] = (48, 64)) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, size=(*hw, 3), dtype=np.uint8) for _ in range(count)]


def _single(frames: list[np.ndarray], box) -> list[tuple[float, ...]]:
    tracker = Drifter()
    tracker.initialize(frames[0], box=box)
    return [tracker.track(frame).box for frame in frames[1:]]


def test_loop_fallback_equals_single_trackers_with_idle_and_replaced_slots():
    batch = trackerzoo.create_batch(Drifter, 3)
    assert isinstance(batch, LoopBatchTracker) and len(batch) == 3
    box = (10, 10, 8, 8)
    a, b, c, d = _frames(1, 6), _frames(2, 3), _frames(3, 5), _frames(4, 4)
    # Slot 0 runs a; slot 1 runs b, then d from step 3; slot 2 idles, starts c at step 2.
    batch.initialize([a[0], b[0], None], [box, box, None])
    assert batch.active == (True, True, False)
    got: dict[str, list] = {"a": [], "b": [], "c": [], "d": []}
    for step in range(1, 6):
        if step == 2:
            batch.initialize_slot(2, c[0], box)
        if step == 3:
            batch.release(1)
            assert batch.active == (True, False, True)
            batch.initialize_slot(1, d[0], box)
        slot1 = ("b", b, step) if step < 3 else ("d", d, step - 2)
        slot2 = ("c", c, step - 1) if step >= 2 else None
        frames = [a[step], slot1[1][slot1[2]] if slot1[2] < len(slot1[1]) else None,
                  slot2[1][slot2[2]] if slot2 is not None else None]
        predictions = batch.track(frames)
        for frame, prediction in zip(frames, predictions, strict=True):
            assert (frame is None) == (prediction is None)
        got["a"].append(predictions[0].box)
        if predictions[1] is not None:
            got[slot1[0]].append(predictions[1].box)
        if slot2 is not None:
            got["c"].append(predictions[2].box)
    assert got["a"] == _single(a, box)
    assert got["b"] == _single(b, box)
    assert got["c"] == _single(c, box)
    assert got["d"] == _single(d, box)


def test_idle_slot_keeps_its_state():
    batch = trackerzoo.create_batch(Drifter, 2)
    a = _frames(5, 4)
    batch.initialize([a[0], a[0]], [(5, 5, 4, 4), (5, 5, 4, 4)])
    first = batch.track([a[1], a[1]])
    batch.track([a[2], None])  # slot 1 sits this step out
    later = batch.track([None, a[2]])
    assert later[0] is None
    reference = Drifter()
    reference.initialize(a[0], box=(5, 5, 4, 4))
    assert reference.track(a[1]).box == first[1].box
    assert reference.track(a[2]).box == later[1].box


def test_input_errors_name_the_slot():
    batch = trackerzoo.create_batch(Drifter, 2)
    frame = _frames(6, 1)[0]
    with pytest.raises(ValueError, match="one entry per slot: expected 2, got 1"):
        batch.initialize([frame], [(1, 1, 4, 4)])
    with pytest.raises(ValueError, match=r"slot 1: .*needs the target"):
        batch.initialize([frame, frame], [(1, 1, 4, 4), None])
    assert batch.active == (False, False)  # nothing started when one entry is bad
    with pytest.raises(NotInitializedError, match="slot 0"):
        batch.track([frame, None])
    batch.initialize_slot(0, frame, (1, 1, 4, 4))
    with pytest.raises(ValueError, match="slot 0: frame size changed"):
        batch.track([_frames(7, 1, (32, 32))[0], None])
    with pytest.raises(ValueError, match="slot 0: frame must have dtype uint8"):
        batch.track([frame.astype(np.float32), None])
    with pytest.raises(ValueError, match=r"slot index must be an integer in \[0, 2\), got 2"):
        batch.initialize_slot(2, frame, (1, 1, 4, 4))
    with pytest.raises(ValueError, match=r"slot index .* got True"):
        batch.release(True)
    with pytest.raises(ValueError, match="frames must be a list"):
        batch.track(np.stack([frame, frame]))
    assert batch.track([None, None]) == [None, None]


@pytest.mark.parametrize("n", [0, -3, 2.0, True, "4"])
def test_bad_batch_size_is_refused(n):
    with pytest.raises(ValueError, match=f"number of sequences >= 1, got {n!r}"):
        trackerzoo.create_batch(Drifter, n)


def test_registered_batch_factory_is_used_and_checked():
    built: list[tuple[trackerzoo.Tracker, int]] = []

    class Native(LoopBatchTracker):
        pass

    def factory(prototype, n):
        built.append((prototype, n))
        return Native([prototype] + [Drifter() for _ in range(n - 1)])

    def register(registry):
        registry.add("drifter", Drifter, paper="test", batch_factory=factory)
        registry.add("plain", Drifter, paper="test")
        registry.add("broken", Drifter, paper="test", batch_factory=lambda prototype, n: Native([prototype]))

    plugin = types.SimpleNamespace(trackerzoo_register_trackers=register)
    with use_registry(load_registry([(plugin, "test-dist")], autoload=False)):
        native = trackerzoo.create_batch("drifter", 3)
        assert isinstance(native, Native) and native.n == 3
        assert len(built) == 1 and isinstance(built[0][0], Drifter) and built[0][1] == 3
        assert type(trackerzoo.create_batch("drifter", 3, native=False)) is LoopBatchTracker
        assert type(trackerzoo.create_batch("plain", 2)) is LoopBatchTracker
        with pytest.raises(ValueError, match=r"batch_factory of tracker 'broken' returned .* not a BatchTracker of 2"):
            trackerzoo.create_batch("broken", 2)


def test_batch_factory_must_be_callable():
    def register(registry):
        registry.add("drifter", Drifter, paper="test", batch_factory="nope")

    plugin = types.SimpleNamespace(trackerzoo_register_trackers=register)
    with pytest.raises(ValueError, match="batch factory of tracker 'drifter' must be callable"):
        load_registry([(plugin, "test-dist")], autoload=False)


def test_loop_needs_distinct_trackers():
    tracker = Drifter()
    with pytest.raises(ValueError, match="same instance"):
        LoopBatchTracker([tracker, tracker])
    with pytest.raises(ValueError, match="non-empty list of Trackers"):
        LoopBatchTracker([])
    assert issubclass(LoopBatchTracker, BatchTracker)


def test_parameters_reach_every_slot():
    batch = trackerzoo.create_batch("csrt", 2, psr_threshold=0.5)
    assert [t.params.psr_threshold for t in batch.trackers] == [0.5, 0.5]
    assert batch.trackers[0] is not batch.trackers[1]
    with pytest.raises(ValueError, match="bogus"):
        trackerzoo.create_batch("csrt", 2, bogus=1)
