"""CRACT in long-term mode (issue #22): absence, re-detection elsewhere, no learning while absent, determinism."""

from __future__ import annotations

import numpy as np
import pytest

import trackerzoo
from trackerzoo.datasets.synthetic.procedural import procedural_background, procedural_sprite, sprite_clip
from trackerzoo.geometry import box_iou_elementwise
from trackerzoo.longterm import LongTermTracker

WIDTH, HEIGHT = 192, 144
LEAVES, RETURNS = 6, 12  # the target is gone on frames 6..11 and comes back elsewhere on frame 12
# Cheaper first-frame fit and a full sweep of the (small) frame per searched frame, to keep the test short.
SETTINGS = {"update_interval": 2, "init_positives": 50, "init_negatives": 200}
LONG_TERM = {"widen_frames": 1, "tiles_per_frame": 6}


def _clip() -> tuple[list[np.ndarray], list[tuple[int, int, int, int] | None]]:
    """A procedural target on a procedural background: moves, vanishes, re-enters at another place."""
    rng = np.random.default_rng(3)
    background = procedural_background(rng, (WIDTH, HEIGHT))
    sprite = procedural_sprite(rng, 36)
    path = [(40 + 4 * t, 50 + t) for t in range(LEAVES)] + [None] * (RETURNS - LEAVES)
    path += [(120 - 2 * t, 90 - t) for t in range(8)]
    return sprite_clip(background, sprite, path)


@pytest.fixture(scope="module")
def clip():
    return _clip()


@pytest.fixture(scope="module")
def long_term_run(clip):
    """Predictions of CRACT long-term over the clip, and the (frame, state before it) of each online update."""
    frames, boxes = clip
    tracker = trackerzoo.create("cract", device="cpu", long_term=LONG_TERM, **SETTINGS)
    assert isinstance(tracker, LongTermTracker)
    inner = tracker.inner
    updates: list[tuple[int, bool]] = []
    original = inner._update_discriminator

    def recording(*args, **kwargs):
        last = predictions[-1]
        updates.append((len(predictions), last.present and last.score >= tracker.params.lost_threshold))
        return original(*args, **kwargs)

    inner._update_discriminator = recording
    tracker.initialize(frames[0], box=boxes[0])
    predictions = [trackerzoo.Prediction(boxes[0], 1.0)]
    for frame in frames[1:]:
        predictions.append(tracker.track(frame))
    return predictions, updates


def test_presence_drops_after_the_target_leaves_and_returns_after_re_entry(clip, long_term_run):
    _frames, boxes = clip
    predictions, _ = long_term_run
    assert all(p.present for p in predictions[:LEAVES])
    gone = [t for t in range(LEAVES, RETURNS) if not predictions[t].present]
    assert gone and gone[0] <= LEAVES + 3  # within lost_after (3) frames
    assert not any(predictions[t].present for t in range(gone[0], RETURNS))  # nothing re-found on the background
    assert all(predictions[t].box == predictions[gone[0]].box for t in range(gone[0], RETURNS))  # last known box
    back = [t for t in range(RETURNS, len(boxes)) if predictions[t].present
            and box_iou_elementwise(np.array(predictions[t].box), np.array(boxes[t], dtype=float)) > 0.5]
    assert back and back[0] <= RETURNS + 30
    assert all(predictions[t].present for t in range(back[0], len(boxes)))


def test_no_online_update_while_the_target_is_absent(long_term_run):
    _, updates = long_term_run
    assert updates  # the discriminator did learn while the target was there
    assert all(confident for _frame, confident in updates), updates


def test_long_term_tracking_is_deterministic(clip, long_term_run):
    frames, boxes = clip
    predictions, _ = long_term_run
    tracker = trackerzoo.create("cract", device="cpu", long_term=LONG_TERM, **SETTINGS)
    tracker.initialize(frames[0], box=boxes[0])
    for t in range(1, LEAVES + 5):  # through the loss and the first global-search frames
        again = tracker.track(frames[t])
        assert (again.box, again.score, again.present) == (predictions[t].box, predictions[t].score,
                                                           predictions[t].present)


def test_short_term_is_the_default_and_opencv_has_no_long_term_mode():
    assert not isinstance(trackerzoo.create("cract", device="cpu", weights=None), LongTermTracker)
    pytest.importorskip("trackerzoo_opencv")
    with pytest.raises(ValueError, match="has no long-term mode"):
        trackerzoo.create("csrt", long_term=True)


def test_the_score_is_the_calibrated_presence_in_both_modes(clip):
    frames, boxes = clip
    short = trackerzoo.create("cract", device="cpu", **SETTINGS)
    assert short.presence_map.calibrated  # the shipped file's manifest entry has a calibration
    short.initialize(frames[0], box=boxes[0])
    for frame in frames[1:4]:
        prediction = short.track(frame)
        assert prediction.score == short.presence_map(prediction.extra["presence_raw"])
        assert 0.0 <= prediction.score <= 1.0 and "ranking" in prediction.extra
    # the long-term thresholds are the raw ones (chosen on s~) through the same map
    for name, raw in short.raw_long_term_thresholds.items():
        assert short.long_term_defaults[name] == short.presence_map(raw)
    long = trackerzoo.create("cract", device="cpu", long_term=True, **SETTINGS)
    assert long.params.lost_threshold == pytest.approx(short.presence_map(0.4))
