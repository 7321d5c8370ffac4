"""prepare_for_inference: folded BatchNorm, traced graphs, the eager fallback; outputs equal the network's."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn

from trackerzoo.nn import build_backbone
from trackerzoo.nn.inference import PreparedModule, fold_batchnorm, fold_conv_batchnorm, prepare_for_inference

RTOL = 1e-4  # float32 sums in another order, relative to the output's largest magnitude


def _randomise_batchnorms(module: nn.Module, generator: torch.Generator) -> nn.Module:
    """Random running statistics and affine parameters: folding an identity BatchNorm would prove nothing."""
    for sub in module.modules():
        if isinstance(sub, nn.BatchNorm2d):
            channels = sub.num_features
            sub.running_mean.copy_(torch.randn(channels, generator=generator))
            sub.running_var.copy_(torch.rand(channels, generator=generator) * 2 + 0.1)
            if sub.weight is not None:
                sub.weight.data.copy_(torch.randn(channels, generator=generator))
                sub.bias.data.copy_(torch.randn(channels, generator=generator))
    return module.eval()


def _close(expected: torch.Tensor, actual: torch.Tensor) -> None:
    scale = float(expected.abs().max())
    assert expected.shape == actual.shape
    assert float((expected - actual).abs().max()) <= RTOL * scale, float((expected - actual).abs().max()) / scale


@dataclasses.dataclass
class Pair:
    coarse: torch.Tensor
    fine: torch.Tensor


class TwoOutputs(nn.Module):
    """Conv-BN-ReLU trunk with a dataclass output (the shape of CRACT's FeatureMaps)."""

    def __init__(self) -> None:
        super().__init__()
        self.trunk = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
                                   nn.Conv2d(8, 8, 1, bias=True), nn.BatchNorm2d(8))
        self.down = nn.Sequential(nn.Conv2d(8, 4, 3, stride=2, padding=1), nn.BatchNorm2d(4, affine=False))

    def forward(self, x: torch.Tensor) -> Pair:
        fine = self.trunk(x)
        return Pair(coarse=self.down(fine), fine=fine)


@pytest.fixture
def generator() -> torch.Generator:
    return torch.Generator().manual_seed(3)


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("affine", [False, True])
def test_fold_conv_batchnorm_equals_conv_then_batchnorm(generator, bias, affine):
    conv = nn.Conv2d(5, 6, 3, padding=1, bias=bias)
    norm = _randomise_batchnorms(nn.BatchNorm2d(6, affine=affine), generator)
    x = torch.randn(2, 5, 9, 9, generator=generator)
    with torch.no_grad():
        _close(norm(conv(x)), fold_conv_batchnorm(conv, norm)(x))
    with pytest.raises(ValueError, match="7 channels"):
        fold_conv_batchnorm(conv, nn.BatchNorm2d(7))
    with pytest.raises(ValueError, match="running statistics"):
        fold_conv_batchnorm(conv, nn.BatchNorm2d(6, track_running_stats=False))


def test_fold_batchnorm_folds_every_pair_and_leaves_the_original(generator):
    module = _randomise_batchnorms(TwoOutputs(), generator)
    before = {name: value.clone() for name, value in module.state_dict().items()}
    folded, count = fold_batchnorm(module)
    assert count == 3
    assert not any(isinstance(sub, nn.BatchNorm2d) for sub in folded.modules())
    assert sum(isinstance(sub, nn.BatchNorm2d) for sub in module.modules()) == 3
    assert all(torch.equal(before[name], value) for name, value in module.state_dict().items())
    x = torch.randn(1, 3, 16, 16, generator=generator)
    with torch.no_grad():
        expected, got = module(x), folded(x)
    _close(expected.fine, got.fine)
    _close(expected.coarse, got.coarse)


def _modules(generator: torch.Generator) -> dict[str, tuple[nn.Module, list[tuple[torch.Tensor, ...]]]]:
    images = [(torch.rand(1, 3, side, side, generator=generator),) for side in (48, 64)]
    backbone = build_backbone("mobilenetv2", output_layers=["stride8", "stride16"], dilated=True)
    return {
        "sequential": (nn.Sequential(nn.Conv2d(3, 6, 3), nn.BatchNorm2d(6), nn.ReLU6(), nn.Conv2d(6, 2, 1)), images),
        "dataclass": (TwoOutputs(), images),
        "mobilenetv2-dict": (backbone, images),
        "two-inputs": (nn.Bilinear(4, 5, 3), [(torch.randn(7, 4, generator=generator),
                                              torch.randn(7, 5, generator=generator))]),
    }


def _outputs(value):
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, dict):
        return [value[key] for key in sorted(value)]
    return [getattr(value, field.name) for field in dataclasses.fields(value)]


@pytest.mark.parametrize("name", ["sequential", "dataclass", "mobilenetv2-dict", "two-inputs"])
@pytest.mark.parametrize("mode", ["exact", "fast", "fast-channels-last"])
def test_prepared_module_equals_the_network(generator, name, mode):
    torch.manual_seed(0)
    module, examples = _modules(generator)[name]
    module = _randomise_batchnorms(module, generator)
    channels_last = mode == "fast-channels-last"
    prepared = prepare_for_inference(module, example_inputs=examples, exact=mode == "exact",
                                     channels_last=channels_last)
    assert isinstance(prepared, PreparedModule)
    assert prepared.path == "traced", prepared.fallback_reason
    assert prepared.fallback_reason is None
    if mode == "exact":
        assert prepared.folded == 0
    # Inputs the trace never saw (another batch size and side) give the same outputs too.
    unseen = tuple(torch.rand(2, *value.shape[1:-2], 56, 56, generator=generator) if value.dim() == 4
                   else torch.randn(3, value.shape[1], generator=generator) for value in examples[0])
    for inputs in [*examples, unseen]:
        with torch.no_grad():
            expected, got = module(*inputs), prepared(*inputs)
        assert type(got) is type(expected)
        for e, g in zip(_outputs(expected), _outputs(got), strict=True):
            if mode == "exact":
                assert torch.equal(e, g)
            else:
                _close(e, g)


class ShapeDependent(nn.Module):
    """A Python branch on the input size: the trace records one side of it only."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return y * 2.0 if x.shape[-1] > 40 else y - 1.0


class TextOutput(nn.Module):
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, str]:
        return x + 1, "not a tensor"


def test_a_trace_that_differs_on_another_example_falls_back_to_the_folded_module(generator):
    module = _randomise_batchnorms(ShapeDependent(), generator)
    examples = [(torch.rand(1, 3, 48, 48, generator=generator),), (torch.rand(1, 3, 32, 32, generator=generator),)]
    prepared = prepare_for_inference(module, example_inputs=examples)
    assert prepared.path == "eager"
    assert "differs from the eager module" in prepared.fallback_reason
    assert prepared.folded == 1  # the fallback keeps the folding
    for (x,) in examples:
        with torch.no_grad():
            _close(module(x), prepared(x))


def test_untraceable_outputs_and_a_failing_tracer_fall_back(generator, monkeypatch):
    x = torch.rand(1, 3, 8, 8, generator=generator)
    prepared = prepare_for_inference(TextOutput(), example_inputs=(x,))
    assert prepared.path == "eager" and "cannot trace an output of type tuple" in prepared.fallback_reason
    assert prepared(x)[1] == "not a tensor"

    def broken_trace(*args, **kwargs):
        raise RuntimeError("tracer broken on purpose")

    monkeypatch.setattr(torch.jit, "trace", broken_trace)
    module = _randomise_batchnorms(TwoOutputs(), generator)
    prepared = prepare_for_inference(module, example_inputs=(x,))
    assert prepared.path == "eager"
    assert prepared.fallback_reason == "RuntimeError: tracer broken on purpose"
    with torch.no_grad():
        _close(module(x).coarse, prepared(x).coarse)


def test_without_examples_or_tracing_the_module_stays_eager(generator):
    module = _randomise_batchnorms(TwoOutputs(), generator)
    assert prepare_for_inference(module).fallback_reason == "no example inputs"
    x = torch.rand(1, 3, 8, 8, generator=generator)
    assert prepare_for_inference(module, example_inputs=(x,), trace=False).fallback_reason == "tracing not requested"


def test_bad_arguments_are_refused():
    module = TwoOutputs()
    with pytest.raises(ValueError, match="channels_last"):
        prepare_for_inference(module, exact=True, channels_last=True)
    with pytest.raises(ValueError, match=r"example_inputs.*'text'"):
        prepare_for_inference(module, example_inputs=["text"])
