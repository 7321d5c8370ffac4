import pytest
import torch

from trackerzoo.learners import SampleMemory


def _sample(value: float) -> dict[str, torch.Tensor]:
    return {"x": torch.full((2, 3, 3), value), "y": torch.full((1, 3, 3), -value)}


def test_weights_follow_learning_rate_hand_computed():
    memory = SampleMemory(capacity=3, learning_rate=0.1)
    memory.initialize(torch.zeros(1, 2))
    memory.insert(torch.ones(2))
    torch.testing.assert_close(memory.weights, torch.tensor([0.9, 0.1]))
    memory.insert(torch.full((2,), 2.0))
    torch.testing.assert_close(memory.weights, torch.tensor([0.81, 0.09, 0.1]))
    # Full: the lowest-weight non-initial sample (slot 1, weight 0.09) is replaced.
    slot = memory.insert(torch.full((2,), 3.0))
    assert int(slot) == 1
    expected = torch.tensor([0.729, 0.1, 0.09])
    torch.testing.assert_close(memory.weights, expected / expected.sum())
    torch.testing.assert_close(memory["x"], torch.tensor([[0.0, 0.0], [3.0, 3.0], [2.0, 2.0]]))


def test_initial_samples_are_never_replaced():
    memory = SampleMemory(capacity=4, learning_rate=0.5)
    memory.initialize({"x": torch.full((2, 2, 3, 3), 7.0), "y": torch.full((2, 1, 3, 3), -7.0)})
    for i in range(20):
        memory.insert(_sample(float(i)))
    assert memory.num_stored == 4 and memory.num_initial == 2
    assert torch.all(memory["x"][:2] == 7.0) and torch.all(memory["y"][:2] == -7.0)
    # The two free slots hold the two most recent samples.
    assert sorted(memory["x"][2:, 0, 0, 0].tolist()) == [18.0, 19.0]
    torch.testing.assert_close(memory.weights.sum(), torch.tensor(1.0))


def test_lowest_weight_versus_oldest_replacement():
    # A sample inserted with a large learning rate (e.g. a hard negative) outweighs older ones:
    # "lowest_weight" keeps it, "oldest" throws it out first.
    for rule, survivor_expected in (("lowest_weight", True), ("oldest", False)):
        memory = SampleMemory(capacity=4, learning_rate=0.01, replace=rule)
        memory.initialize(torch.zeros(1, 1))
        memory.insert(torch.tensor([100.0]), learning_rate=0.5)  # heavy sample, oldest
        memory.insert(torch.tensor([1.0]))
        memory.insert(torch.tensor([2.0]))
        memory.insert(torch.tensor([3.0]))  # full -> replaces one
        assert (100.0 in memory["x"][:, 0].tolist()) is survivor_expected


def test_min_initial_weight_is_enforced():
    memory = SampleMemory(capacity=10, learning_rate=0.5, min_initial_weight=0.25)
    memory.initialize(torch.zeros(2, 1))
    memory.insert(torch.tensor([0.0]))  # [.25 .25 .5]
    memory.insert(torch.tensor([1.0]))  # [.125 .125 .25 .5]: initial share exactly 0.25, untouched
    torch.testing.assert_close(memory.weights, torch.tensor([0.125, 0.125, 0.25, 0.5]))
    memory.insert(torch.tensor([2.0]))  # raw [.0625 .0625 .125 .25 .5]: initial share 0.125 < 0.25
    # initial samples lifted to 0.25 in total, the rest shares 0.75 in its old proportions 1:2:4
    expected = torch.tensor([0.125, 0.125, 0.75 / 7, 1.5 / 7, 3.0 / 7])
    torch.testing.assert_close(memory.weights, expected)


def test_memory_bytes_stay_bounded_over_10000_insertions():
    capacity = 50
    memory = SampleMemory(capacity=capacity, learning_rate=0.01)
    memory.initialize({"x": torch.zeros(1, 2, 3, 3), "y": torch.zeros(1, 1, 3, 3)})
    for i in range(capacity):
        memory.insert(_sample(float(i)))
    bytes_when_full = memory.nbytes()
    storage_address = memory["x"].data_ptr()
    for i in range(10_000 - capacity):
        memory.insert(_sample(float(i)))
    assert memory.nbytes() == bytes_when_full
    assert memory["x"].data_ptr() == storage_address  # written in place, never reallocated
    assert memory.num_stored == capacity
    # capacity * (18 + 9 floats) + weights (float32) + insertion times (int64)
    assert bytes_when_full == capacity * (18 + 9) * 4 + capacity * 4 + capacity * 8


def test_bad_input_raises_value_errors():
    with pytest.raises(ValueError, match="capacity"):
        SampleMemory(capacity=1, learning_rate=0.1)
    with pytest.raises(ValueError, match="learning_rate"):
        SampleMemory(capacity=5, learning_rate=0.0)
    with pytest.raises(ValueError, match="replace"):
        SampleMemory(capacity=5, learning_rate=0.1, replace="random")
    memory = SampleMemory(capacity=3, learning_rate=0.1)
    with pytest.raises(ValueError, match="not initialised"):
        memory.insert(torch.zeros(2))
    with pytest.raises(ValueError, match="no room"):
        memory.initialize(torch.zeros(3, 2))
    memory.initialize(torch.zeros(1, 2))
    with pytest.raises(ValueError, match="shape"):
        memory.insert(torch.zeros(3))
    with pytest.raises(ValueError, match="names"):
        memory.insert({"z": torch.zeros(2)})
