"""Preparing a tracker's network for inference, once, when the tracker is created.

``prepare_for_inference(module, example_inputs=..., device=...)`` returns a module that
computes what ``module`` computes (to float tolerance), faster:

1. **BatchNorm folded into the convolution before it** (``fold_batchnorm``): in eval mode a
   BatchNorm is an affine map per channel, which the conv's weight and bias absorb
   (``W' = W * g / sqrt(v + e)``, ``b' = (b - m) * g / sqrt(v + e) + beta``). Every
   ``Conv2d`` directly followed by a ``BatchNorm2d`` in an ``nn.Sequential`` is folded
   (the layout of ``conv_bn`` blocks in this package and in torchvision-style backbones).
2. **channels_last** weights when asked (``channels_last=True``): oneDNN's convolutions run
   on NHWC data without reordering. Whether it pays depends on the network and the CPU;
   measure (benchmarks/README.md, "Inference preparation").
3. **A traced, frozen graph** where torch supports it: ``torch.jit.trace`` on the example
   inputs, ``torch.jit.freeze`` (weights become constants) and
   ``torch.jit.optimize_for_inference`` (conv/add/relu fusion, prepacked weights). The
   traced graph is checked against the folded eager module on every example input; if
   tracing, freezing or that check fails, the folded eager module is used instead and
   ``PreparedModule.fallback_reason`` says why.

Outputs may be a tensor, a tuple/list or dict of tensors, or a dataclass whose fields are
tensors (the traced graph returns a tuple; ``PreparedModule`` rebuilds the dataclass).

``torch.compile`` is not used: it works on CPU here (torch 2.13, inductor), but it needs a C++
toolchain at run time and its first call took 88 s for a 3-layer conv block on the shared
2-core machine (load average ~7), which a tracker's ``create()`` cannot afford.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

# Tolerance of the check of a traced graph against the eager module (float32 sums in
# another order): relative to the largest magnitude of each output.
TRACE_CHECK_RTOL = 1e-4


def fold_conv_batchnorm(conv: nn.Conv2d, norm: nn.BatchNorm2d) -> nn.Conv2d:
    """A new ``Conv2d`` computing ``norm(conv(x))`` with ``norm``'s running statistics (eval mode).

    The weight of output channel ``o`` is scaled by ``s_o = gamma_o / sqrt(var_o + eps)``
    and the bias becomes ``(b_o - mean_o) * s_o + beta_o`` (``b_o = 0`` for a conv without
    bias). Raises ``ValueError`` when the channel counts differ or ``norm`` has no running
    statistics (``track_running_stats=False``).
    """
    if norm.num_features != conv.out_channels:
        raise ValueError(f"BatchNorm2d of {norm.num_features} channels cannot fold into a conv with "
                         f"{conv.out_channels} output channels")
    if norm.running_mean is None or norm.running_var is None:
        raise ValueError("BatchNorm2d without running statistics (track_running_stats=False) cannot be folded")
    with torch.no_grad():
        scale = torch.rsqrt(norm.running_var + norm.eps)
        if norm.weight is not None:
            scale = scale * norm.weight
        shift = -norm.running_mean * scale
        if conv.bias is not None:
            shift = shift + conv.bias * scale
        if norm.bias is not None:
            shift = shift + norm.bias
        folded = copy.deepcopy(conv)
        folded.weight = nn.Parameter(conv.weight * scale.reshape(-1, 1, 1, 1), requires_grad=False)
        folded.bias = nn.Parameter(shift.to(conv.weight.dtype), requires_grad=False)
    return folded


def fold_batchnorm(module: nn.Module) -> tuple[nn.Module, int]:
    """A copy of ``module`` (eval mode) with every Conv2d -> BatchNorm2d pair of a Sequential folded.

    Returns ``(copy, number of BatchNorms folded)``; the folded BatchNorm becomes
    ``nn.Identity`` so that the Sequential keeps its indices (and state-dict keys of the
    other layers). ``module`` itself is left unchanged.
    """
    folded = copy.deepcopy(module).eval()
    count = 0
    for sequential in [m for m in folded.modules() if isinstance(m, nn.Sequential)]:
        names = list(sequential._modules)
        for first, second in itertools.pairwise(names):
            conv, norm = sequential._modules[first], sequential._modules[second]
            if isinstance(conv, nn.Conv2d) and isinstance(norm, nn.BatchNorm2d) and norm.running_mean is not None:
                sequential._modules[first] = fold_conv_batchnorm(conv, norm)
                sequential._modules[second] = nn.Identity()
                count += 1
    return folded, count


# --------------------------------------------------------------------------- output structures


def _flatten(output: Any) -> tuple[tuple[torch.Tensor, ...], Callable[[Sequence[torch.Tensor]], Any]]:
    """The tensors of an output and a function that rebuilds the output from them."""
    if isinstance(output, torch.Tensor):
        return (output,), lambda tensors: tensors[0]
    if dataclasses.is_dataclass(output) and not isinstance(output, type):
        names = [field.name for field in dataclasses.fields(output)]
        values = [getattr(output, name) for name in names]
        if not all(isinstance(value, torch.Tensor) for value in values):
            raise TypeError(f"{type(output).__name__}: only dataclasses of tensors can be traced")
        kind = type(output)
        return tuple(values), lambda tensors: kind(**dict(zip(names, tensors, strict=True)))
    if isinstance(output, (tuple, list)) and all(isinstance(value, torch.Tensor) for value in output):
        kind = type(output)
        return tuple(output), lambda tensors: kind(tensors)
    if isinstance(output, dict) and all(isinstance(value, torch.Tensor) for value in output.values()):
        keys = list(output)
        return tuple(output.values()), lambda tensors: dict(zip(keys, tensors, strict=True))
    raise TypeError(f"cannot trace an output of type {type(output).__name__} (tensors, tuples, dicts "
                    "and dataclasses of tensors only)")


class _TupleOutput(nn.Module):
    """``module`` with its output flattened to a tuple of tensors (what ``torch.jit.trace`` records)."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return _flatten(self.module(*inputs))[0]


class PreparedModule(nn.Module):
    """What ``prepare_for_inference`` returns: the fastest working form of a network.

    ``path`` is ``"traced"`` (a frozen TorchScript graph) or ``"eager"`` (the folded
    module); ``fallback_reason`` is None on the traced path and says why tracing was
    given up otherwise; ``folded`` is the number of BatchNorms folded. Calling it runs
    the network under ``torch.no_grad()`` and returns the same structure as the original.
    """

    def __init__(self, eager: nn.Module, traced: torch.jit.ScriptModule | None,
                 rebuild: Callable[[Sequence[torch.Tensor]], Any] | None, *, folded: int,
                 channels_last: bool, fallback_reason: str | None) -> None:
        super().__init__()
        self.eager = eager
        self.traced = traced
        self._rebuild = rebuild
        self.folded = folded
        self.channels_last = channels_last
        self.fallback_reason = fallback_reason

    @property
    def path(self) -> str:
        return "traced" if self.traced is not None else "eager"

    def forward(self, *inputs: torch.Tensor) -> Any:
        with torch.no_grad():
            if self.channels_last:
                inputs = tuple(_to_channels_last(value) for value in inputs)
            if self.traced is None or self._rebuild is None:
                return self.eager(*inputs)
            return self._rebuild(self.traced(*inputs))


def _to_channels_last(value: torch.Tensor) -> torch.Tensor:
    return value.contiguous(memory_format=torch.channels_last) if value.dim() == 4 else value


def _largest_difference(expected: Sequence[torch.Tensor], actual: Sequence[torch.Tensor]) -> float:
    """Largest ``|expected - actual|`` relative to ``max |expected|`` over every output tensor."""
    if len(expected) != len(actual):
        return float("inf")
    worst = 0.0
    for a, b in zip(expected, actual, strict=True):
        if a.shape != b.shape:
            return float("inf")
        scale = max(float(a.abs().max()), 1e-12) if a.numel() else 1.0
        worst = max(worst, float((a.float() - b.float()).abs().max()) / scale if a.numel() else 0.0)
    return worst


def _trace(eager: nn.Module, examples: list[tuple[torch.Tensor, ...]], exact: bool) -> torch.jit.ScriptModule:
    """Trace and freeze ``eager`` on ``examples[0]`` (optimised unless ``exact``); check it on all examples.

    Raises ``RuntimeError`` when the traced graph differs from the eager module on any
    example (e.g. a shape baked into the trace): at all when ``exact``, else by more than
    ``TRACE_CHECK_RTOL``.
    """
    wrapper = _TupleOutput(eager).eval()
    tolerance = 0.0 if exact else TRACE_CHECK_RTOL
    # The trace's own warnings (Python values recorded as constants: the check below is what
    # matters) and torch's deprecation note on TorchScript are not the caller's business.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        traced = torch.jit.trace(wrapper, examples[0], check_trace=False)
        frozen = torch.jit.freeze(traced, optimize_numerics=not exact)
        if not exact:
            frozen = torch.jit.optimize_for_inference(frozen)
        for example in examples:
            for _ in range(2):  # the profiling executor specialises on the second call
                got = frozen(*example)
            difference = _largest_difference(wrapper(*example), got)
            if not difference <= tolerance:
                shapes = [tuple(value.shape) for value in example]
                raise RuntimeError(f"traced graph differs from the eager module by {difference:.3g} (relative) "
                                   f"on inputs of shapes {shapes}")
    return frozen


def prepare_for_inference(
    module: nn.Module,
    *,
    example_inputs: Sequence[torch.Tensor] | Sequence[Sequence[torch.Tensor]] | None = None,
    device: torch.device | str = "cpu",
    exact: bool = False,
    channels_last: bool = False,
    trace: bool = True,
) -> PreparedModule:
    """``module`` prepared for inference on ``device``: folded, optionally channels_last, traced.

    ``example_inputs`` is one tuple of input tensors, or a list of such tuples covering
    every input shape the caller will use (the trace is recorded on the first and checked
    on all); without it nothing is traced. ``trace`` tries the frozen graph.

    ``exact=False`` (fast): BatchNorm folded into convs, the frozen graph optimised by
    ``torch.jit.optimize_for_inference``; outputs equal ``module``'s to float tolerance
    (relative ``TRACE_CHECK_RTOL``), not bit for bit. ``exact=True``: nothing that changes
    the arithmetic (no folding, ``torch.jit.freeze(optimize_numerics=False)``, no
    ``optimize_for_inference``; ``channels_last`` must be False); the traced graph is kept
    only if it reproduces the eager outputs bit for bit on every example, so only the
    Python overhead goes. ``channels_last`` converts weights and 4-D inputs to NHWC.

    ``module`` itself is not modified; the returned module is for inference only (no
    gradients, eval mode). Raises ``ValueError`` for an example that is not a tensor or a
    sequence of tensors, and for ``exact`` with ``channels_last``.
    """
    if exact and channels_last:
        raise ValueError("exact=True keeps the arithmetic bit for bit; channels_last=True changes it")
    device = torch.device(device)
    examples = _as_example_list(example_inputs)
    eager, folded = (copy.deepcopy(module).eval(), 0) if exact else fold_batchnorm(module)
    eager = eager.to(device)
    for parameter in eager.parameters():
        parameter.requires_grad_(False)
    if channels_last:
        eager = eager.to(memory_format=torch.channels_last)
    examples = [tuple(_to_channels_last(value.to(device)) if channels_last else value.to(device) for value in example)
                for example in examples]
    if not trace or not examples:
        reason = "tracing not requested" if not trace else "no example inputs"
        return PreparedModule(eager, None, None, folded=folded, channels_last=channels_last, fallback_reason=reason)
    try:
        with torch.no_grad():
            _, rebuild = _flatten(eager(*examples[0]))
        traced = _trace(eager, examples, exact)
    except Exception as exc:  # any failure of tracing falls back to the eager module
        reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
        return PreparedModule(eager, None, None, folded=folded, channels_last=channels_last, fallback_reason=reason)
    return PreparedModule(eager, traced, rebuild, folded=folded, channels_last=channels_last, fallback_reason=None)


def _as_example_list(
    example_inputs: Sequence[torch.Tensor] | Sequence[Sequence[torch.Tensor]] | None,
) -> list[tuple[torch.Tensor, ...]]:
    """One tuple of tensors, or a list of them, as a list of tuples; ``ValueError`` otherwise."""
    if example_inputs is None:
        return []
    if isinstance(example_inputs, torch.Tensor):
        return [(example_inputs,)]
    items = list(example_inputs)
    if items and all(isinstance(item, torch.Tensor) for item in items):
        return [tuple(items)]
    examples = []
    for item in items:
        if isinstance(item, torch.Tensor):
            examples.append((item,))
        elif isinstance(item, (tuple, list)) and item and all(isinstance(v, torch.Tensor) for v in item):
            examples.append(tuple(item))
        else:
            raise ValueError(f"example_inputs must be tensors or tuples of tensors, got {item!r:.80}")
    return examples
