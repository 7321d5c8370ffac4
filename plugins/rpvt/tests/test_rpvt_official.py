"""The ``resnet50`` + ``refinement="d3s"`` network is D3S's: strict conversion and the oracle outputs.

The fixture holds the logits D3S's own ``SegmNet`` modules (``ltr/models/segm``, backbone
``ltr/models/backbone/resnet.py``, from alanlukezic/d3s) computed in float64 on the CPU
from the seeded state dict of ``d3s_reference.official_state_dict`` and the inputs of
``oracle_inputs``. Only those numbers and the key/shape list are committed.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from d3s_reference import FIXTURES, official_keys, official_state_dict, oracle_inputs
from trackerzoo_rpvt import hooks
from trackerzoo_rpvt.model.network import MODEL_CONFIGS, RpvtNet, d3s_checkpoint_filter

from trackerzoo.registry import load_registry
from trackerzoo.weights import convert_checkpoint, load_state_dict


def _converted(refinement: str = "d3s") -> RpvtNet:
    model = RpvtNet(MODEL_CONFIGS["resnet50"], refinement)
    model.load_state_dict(d3s_checkpoint_filter(official_state_dict(dtype=torch.float32), model), strict=True)
    return model


def test_every_official_key_has_a_place_or_is_reported_unused():
    model = RpvtNet(MODEL_CONFIGS["resnet50"], "d3s")
    converted = d3s_checkpoint_filter(dict(official_state_dict(dtype=torch.float32)), model)
    assert set(converted) == set(model.state_dict())
    for key, value in model.state_dict().items():
        assert converted[key].shape == value.shape, key
    dropped = d3s_checkpoint_filter.last_report["dropped"]
    assert dropped and all(k.startswith(("feature_extractor.layer4.", "feature_extractor.fc.")) for k in dropped)
    assert len(converted) + len(dropped) == len(official_keys())


def test_d3s_refinement_reproduces_the_official_network():
    model = RpvtNet(MODEL_CONFIGS["resnet50"], "d3s").double().eval()
    model.load_state_dict(d3s_checkpoint_filter(official_state_dict(), model), strict=True)
    x = oracle_inputs()
    with torch.no_grad():
        out = model(x["reference"], x["mask"], x["search"], x["distance"])["logits"]
    expected = torch.from_numpy(np.load(FIXTURES / "d3s_segmnet_outputs.npz")["logits"])
    assert out.shape == expected.shape == (1, 2, 64, 64)
    # float64 throughout; the residue (~3e-7) is our ImageNet normalisation's float32 constants.
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-6)


def test_trackerzoo_convert_reads_an_ltr_checkpoint_strictly(tmp_path):
    checkpoint = tmp_path / "SegmNet.pth.tar"
    torch.save({"net": official_state_dict(dtype=torch.float32), "net_type": "segm_resnet50", "epoch": 40},
               checkpoint)
    registry = load_registry([(hooks, "trackerzoo-rpvt")], autoload=False)
    out = tmp_path / "rpvt_resnet50_d3s.safetensors"
    report = convert_checkpoint(checkpoint, out, tracker="rpvt", fp16=False, registry=registry)
    assert report.wrapper == "net"
    model = RpvtNet(MODEL_CONFIGS["resnet50"], "d3s")
    model.load_state_dict(load_state_dict(out), strict=True)


def test_cscr_conversion_reports_which_keys_came_from_where():
    model = RpvtNet(MODEL_CONFIGS["resnet50"], "cscr")
    converted = d3s_checkpoint_filter(dict(official_state_dict(dtype=torch.float32)), model)
    model.load_state_dict(converted, strict=True)
    report = d3s_checkpoint_filter.last_report
    from_checkpoint = set(report["from_checkpoint"])
    assert {k for k in from_checkpoint if k.startswith("backbone.conv1")} and "mixer.0.weight" in from_checkpoint
    assert "matching.segment0.0.weight" in from_checkpoint and "refinement.f0.0.weight" in from_checkpoint
    assert report["from_rpvt"] and all(k.startswith("refinement.") for k in report["from_rpvt"])
    assert "refinement.stage_weights" in report["from_rpvt"]


def test_a_checkpoint_of_another_layout_is_refused():
    with pytest.raises(ValueError, match="segm_predictor"):
        d3s_checkpoint_filter({"conv1.weight": torch.zeros(1)}, None)
    with pytest.raises(ValueError, match="no counterpart"):
        d3s_checkpoint_filter({"segm_predictor.unknown.weight": torch.zeros(1)}, None)
