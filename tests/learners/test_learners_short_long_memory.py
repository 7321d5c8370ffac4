"""MDNet's short/long-term sample memory (``trackerzoo.learners.ShortLongMemory``)."""

import pytest
import torch

from trackerzoo.learners import SampleSet, ShortLongMemory


def test_memory_keeps_positives_long_and_negatives_short():
    memory = ShortLongMemory(long_term_frames=100, short_term_frames=20)
    first = SampleSet(0, torch.zeros(3, 2), torch.tensor([1.0, 0.0, 0.0]))
    memory.reset(first)
    memory.add(SampleSet(10, torch.ones(2, 2), torch.tensor([1.0, 0.0])))
    memory.add(SampleSet(40, torch.full((2, 2), 2.0), torch.tensor([1.0, 0.0])))
    features, labels, weights = memory.training_set(45)
    # Positives of frames 0 (first frame, always), 10 and 40; negatives only from frame 40 (within 20).
    assert labels.tolist() == [1.0, 1.0, 1.0, 0.0]
    assert features[-1].tolist() == [2.0, 2.0]
    assert torch.isclose(weights[labels > 0].sum(), torch.tensor(0.5))
    assert torch.isclose(weights[labels == 0].sum(), torch.tensor(0.5))
    memory.add(SampleSet(130, torch.full((1, 2), 3.0), torch.tensor([1.0])))
    features, labels, _ = memory.training_set(130)
    # Frame 10 has left the long-term window; no recent negatives: the first frame's are used.
    assert labels.tolist() == [1.0, 1.0, 1.0, 0.0, 0.0]


def test_memory_refuses_bad_windows_and_use_before_reset():
    with pytest.raises(ValueError, match="long_term_frames must be a positive integer, got 0"):
        ShortLongMemory(long_term_frames=0, short_term_frames=20)
    with pytest.raises(ValueError, match=r"short_term_frames must be a positive integer, got 2\.5"):
        ShortLongMemory(long_term_frames=10, short_term_frames=2.5)
    with pytest.raises(ValueError, match="reset"):
        ShortLongMemory(10, 5).training_set(3)


def test_first_frame_positives_never_expire_and_sets_beyond_both_windows_are_dropped():
    memory = ShortLongMemory(long_term_frames=5, short_term_frames=3)
    memory.reset(SampleSet(0, torch.tensor([[7.0]]), torch.tensor([1.0])))
    for frame in range(1, 20):
        memory.add(SampleSet(frame, torch.tensor([[float(frame)], [-float(frame)]]), torch.tensor([1.0, 0.0])))
    assert [s.frame for s in memory.recent] == [15, 16, 17, 18, 19]
    features, labels, weights = memory.training_set(19)
    # positives: first frame + frames 15..19; negatives: frames 17..19
    assert features[:, 0].tolist() == [7.0, 15.0, 16.0, 17.0, 18.0, 19.0, -17.0, -18.0, -19.0]
    assert labels.tolist() == [1.0] * 6 + [0.0] * 3
    torch.testing.assert_close(weights, torch.tensor([0.5 / 6] * 6 + [0.5 / 3] * 3))
