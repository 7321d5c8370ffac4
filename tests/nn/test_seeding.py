"""``trackerzoo.nn.seeding.draws_from``: module initialisation from a generator of one's own."""

from __future__ import annotations

import threading

import pytest
import torch
from torch import nn

from trackerzoo.nn import build_backbone
from trackerzoo.nn.seeding import _draws_on_cpu, draws_from


def _net() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.Flatten(), nn.Linear(8, 4))


def _same(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_values_equal_a_seeded_global_generator_and_leave_it_untouched():
    torch.manual_seed(5)
    expected = _net()
    backbone_expected = build_backbone("resnet18", output_layers=["layer2"])
    torch.manual_seed(123)
    before = torch.get_rng_state()
    generator = torch.Generator().manual_seed(5)
    with draws_from(generator):
        built = _net()
        backbone = build_backbone("resnet18", output_layers=["layer2"])
    assert torch.equal(torch.get_rng_state(), before)
    assert _same(built, expected)
    assert _same(backbone, backbone_expected)


def test_every_random_function_draws_from_the_generator():
    def draws() -> list[torch.Tensor]:
        t = torch.zeros(6)
        return [torch.rand(3), torch.randn(3), torch.randint(0, 9, (3,)), torch.randperm(5),
                t.clone().uniform_(), t.clone().normal_(), torch.bernoulli(torch.full((4,), 0.5)),
                torch.multinomial(torch.ones(5), 2), torch.rand_like(t), torch.randn_like(t),
                t.clone().exponential_(), nn.init.kaiming_normal_(torch.empty(2, 3)),
                nn.init.trunc_normal_(torch.empty(3)), nn.init.xavier_uniform_(torch.empty(2, 2))]

    torch.manual_seed(3)
    expected = draws()
    torch.manual_seed(0)
    before = torch.get_rng_state()
    with draws_from(torch.Generator().manual_seed(3)):
        got = draws()
    assert torch.equal(torch.get_rng_state(), before)
    for a, b in zip(expected, got, strict=True):
        assert torch.equal(a, b)


def test_an_explicit_generator_is_kept():
    mine = torch.Generator().manual_seed(1)
    expected = torch.rand(4, generator=torch.Generator().manual_seed(1))
    with draws_from(torch.Generator().manual_seed(2)):
        assert torch.equal(torch.rand(4, generator=mine), expected)


def test_other_threads_keep_the_global_generator():
    """The mode is thread-local: a thread drawing meanwhile is not redirected."""
    inside, done = threading.Event(), threading.Event()
    seen: dict[str, torch.Tensor] = {}

    def other() -> None:
        inside.wait(timeout=30)
        torch.manual_seed(77)
        seen["other"] = torch.rand(5)
        done.set()

    thread = threading.Thread(target=other)
    thread.start()
    with draws_from(torch.Generator().manual_seed(4)):
        inside.set()
        done.wait(timeout=30)
        seen["mine"] = torch.rand(5)
    thread.join(timeout=30)
    torch.manual_seed(77)
    assert torch.equal(seen["other"], torch.rand(5))
    assert torch.equal(seen["mine"], torch.rand(5, generator=torch.Generator().manual_seed(4)))


@pytest.mark.parametrize("bad", [None, 0, "seed", torch.zeros(1)])
def test_anything_but_a_generator_is_refused(bad):
    with pytest.raises(ValueError, match=r"torch\.Generator"):
        draws_from(bad)


def test_only_draws_on_the_cpu_take_the_cpu_generator():
    """A CPU generator cannot fill a CUDA tensor: draws on other devices keep their own."""
    assert _draws_on_cpu((torch.empty(2),), {})
    assert not _draws_on_cpu((torch.empty(2, device="meta"),), {})
    assert _draws_on_cpu((3,), {})
    assert not _draws_on_cpu((3,), {"device": "meta"})
    assert not _draws_on_cpu((3,), {"device": torch.device("cuda", 0)})
    with torch.device("meta"):
        assert not _draws_on_cpu((3,), {})
