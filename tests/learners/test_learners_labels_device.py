import pytest
import torch

from trackerzoo.labels import gaussian_label_map
from trackerzoo.learners import GaussNewtonDCFLearner, SampleMemory, steepest_descent


def test_gaussian_label_map_hand_computed():
    labels = gaussian_label_map(torch.tensor([[2.5, 1.5]]), 1.0, (3, 5))
    assert labels.shape == (1, 1, 3, 5)
    assert float(labels[0, 0, 1, 2]) == pytest.approx(1.0)  # cell centre (2.5, 1.5)
    assert float(labels[0, 0, 1, 3]) == pytest.approx(float(torch.exp(torch.tensor(-0.5))))
    assert float(labels[0, 0, 0, 0]) == pytest.approx(float(torch.exp(torch.tensor(-0.5 * (4 + 1)))))
    with pytest.raises(ValueError, match="sigma"):
        gaussian_label_map(torch.tensor([[1.0, 1.0]]), 0.0, (3, 3))


@pytest.mark.cuda
def test_learners_run_on_cuda_like_on_cpu():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(3, 4, 9, 9, generator=gen)
    y = gaussian_label_map(torch.tensor([[4.5, 4.5]] * 3), 1.0, (9, 9))
    results = []
    for device in ("cpu", "cuda"):
        memory = SampleMemory(capacity=5, learning_rate=0.1)
        memory.initialize({"x": x[:1].to(device), "y": y[:1].to(device)})
        for i in (1, 2):
            memory.insert({"x": x[i].to(device), "y": y[i].to(device)})
        learner = GaussNewtonDCFLearner(filter_size=3, projection_dim=2, init_gn_iters=2)
        learner.initialize(memory["x"], memory["y"], memory.weights, initial_projection=torch.eye(2, 4).to(device))
        sd = steepest_descent(
            torch.zeros(1, 4, 3, 3, device=device), memory["x"], memory["y"], reg_weight=0.1, num_iters=3
        )
        results.append((learner.filter.cpu(), sd.cpu()))
    for cpu_value, cuda_value in zip(results[0], results[1], strict=True):
        torch.testing.assert_close(cuda_value, cpu_value, atol=1e-4, rtol=1e-3)
