"""Official equivalence: TracKit's OceanPlus (MMS) outputs, converted strictly into the resnet50 variant.

The fixtures hold the official network's outputs on the CPU for the seeded weights and
inputs of ``arn_oracle_inputs`` (trunk stages, template kernel, score and box maps, mask
logits); the checkpoint is rebuilt here from the seed in the official key order.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from arn_oracle_inputs import oracle_inputs, seeded_state_dict
from safetensors.torch import load_file
from trackerzoo_arn import hooks
from trackerzoo_arn.model import ArnNet
from trackerzoo_arn.params import MODEL_CONFIGS

from trackerzoo.registry import load_registry
from trackerzoo.weights import apply_state_dict, convert_checkpoint

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def official_state() -> dict[str, torch.Tensor]:
    keys = json.loads((FIXTURES / "oceanplus_keys.json").read_text())
    return seeded_state_dict(keys, seed=2020)


@pytest.fixture(scope="module")
def registry():
    return load_registry([(hooks, "trackerzoo-arn")], autoload=False)


def test_converted_official_checkpoint_reproduces_the_official_outputs(official_state, registry):
    # In memory (a 100 MB file round trip would double the test's time); the plain-file path
    # through `trackerzoo convert` is the strict test below.
    info = registry.get_checkpoint_filter("arn")
    net = ArnNet(MODEL_CONFIGS["resnet50"])
    prefixed = {"module." + key: value for key, value in official_state.items()}  # DataParallel layout
    apply_state_dict(net, info.filter(prefixed, net), source="seeded OceanPlus")  # strict
    net.eval()
    reference = load_file(FIXTURES / "oceanplus_oracle.safetensors")
    z, x, mask = oracle_inputs()
    with torch.no_grad():
        c1, c2, c3, deep = net.features(x)
        template = net.template(z, mask)
        result = net.track(x, template)
    ours = {
        "c1_head": c1[:, :4], "c2_head": c2[:, :4], "c3_head": c3[:, :4], "deep_head": deep[:, :4],
        "c1_mean": c1.mean((2, 3)), "c2_mean": c2.mean((2, 3)), "c3_mean": c3.mean((2, 3)),
        "deep_mean": deep.mean((2, 3)), "template_kernel": template.kernel[:, :8],
        "cls": result.logits, "bbox": result.ltrb, "mask": result.mask,
    }
    assert set(ours) == set(reference)
    for name, value in ours.items():
        assert torch.allclose(value, reference[name], rtol=1e-4, atol=1e-5), name


def test_strict_conversion_names_missing_and_unexpected_keys(official_state, registry, tmp_path):
    broken = dict(official_state)
    del broken["mask_model.iter2.r0.0.weight"]
    broken["connect_model.extra_head.weight"] = torch.zeros(1)
    checkpoint = tmp_path / "broken.pth"
    torch.save(broken, checkpoint)
    with pytest.raises(ValueError, match=r"mask_model\.iter2\.r0\.0\.weight") as excinfo:
        convert_checkpoint(checkpoint, tmp_path / "out.safetensors", tracker="arn", registry=registry)
    assert "connect_model.extra_head.weight" in str(excinfo.value)
