"""Random initialisation of modules from a tracker's own ``torch.Generator``.

``nn.Linear``, ``nn.Conv2d`` and the backbones draw their initial weights from torch's
global generator while they are constructed, and their constructors take no generator.
``draws_from(generator)`` makes every such draw inside the block come from ``generator``
instead, so building a network neither reads nor advances the caller's global state and
gives the same weights for the same seed in any thread, whatever ran before.

It is a ``TorchFunctionMode`` (thread-local in torch): it passes ``generator`` to each
random tensor function and ``torch.nn.init`` initialiser called without one. The draws are
the values the global generator would give after ``torch.manual_seed(s)`` when
``generator`` is ``torch.Generator().manual_seed(s)`` (both are the CPU Mersenne Twister),
so a network built under ``draws_from`` equals one built after seeding the global state.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import torch
from torch.overrides import TorchFunctionMode

# Tensor functions and methods that draw random numbers and take ``generator=``.
RANDOM_FUNCTIONS = frozenset({
    "bernoulli", "bernoulli_", "cauchy_", "exponential_", "geometric_", "log_normal_", "multinomial",
    "normal", "normal_", "poisson", "rand", "rand_like", "randint", "randint_like", "randn", "randn_like",
    "random_", "randperm", "uniform_",
})


def _takes_generator(func: Callable[..., Any]) -> bool:
    name = getattr(func, "__name__", "")
    if name in RANDOM_FUNCTIONS:
        return True
    if getattr(func, "__module__", None) != "torch.nn.init":
        return False
    try:
        return "generator" in inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False


class draws_from(TorchFunctionMode):  # lower case: used like a function (`with draws_from(g):`)
    """Context manager: random draws without an explicit generator come from ``generator``.

    ``generator``: a CPU ``torch.Generator`` (build modules on the CPU, then move them); draws
    on another device keep that device's generator. Raises ``ValueError`` for anything else.
    Calls that pass their own ``generator`` keep it.
    """

    def __init__(self, generator: torch.Generator) -> None:
        if not isinstance(generator, torch.Generator):
            raise ValueError(f"draws_from needs a torch.Generator, got {generator!r}")
        if generator.device.type != "cpu":
            raise ValueError(f"draws_from needs a CPU generator, got one on {generator.device}")
        super().__init__()
        self.generator = generator

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = dict(kwargs or {})
        if kwargs.get("generator") is None and _takes_generator(func) and _draws_on_cpu(args, kwargs):
            kwargs["generator"] = self.generator
        return func(*args, **kwargs)


def _draws_on_cpu(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """Whether a random call fills a CPU tensor (a CPU generator cannot fill another device's)."""
    tensor = next((a for a in args if isinstance(a, torch.Tensor)), None)
    if tensor is not None:
        return tensor.device.type == "cpu"
    device = kwargs.get("device")
    return torch.device(device if device is not None else torch.get_default_device()).type == "cpu"
