"""Official equivalence: pytracking's RTS network (rts50 layout) against ours, variant ``resnet50``.

The fixtures were produced by running pytracking's own ``steepest_descent_resnet50_with_clf_encoder``
(as ``ltr/train_settings/rts/rts50.py`` builds it) on the CPU, with the seeded state dict of
``oracle_inputs.official_state_dict`` loaded strictly and trackerzoo's PrRoIPool reference
standing in for its CUDA-only PrRoIPool, on the clip of ``oracle_inputs.oracle_inputs``. Only
its outputs and its key/shape list are committed.
"""

from __future__ import annotations

import pytest
import torch
from oracle_inputs import FIXTURES, official_keys, official_state_dict, oracle_inputs
from safetensors.torch import load_file
from trackerzoo_rts.model.network import RtsNet, checkpoint_filter, detecting_checkpoint_filter
from trackerzoo_rts.model.sta import StaNet
from trackerzoo_rts.params import MODEL_CONFIGS

from trackerzoo.cli.commands.convert import filter_name
from trackerzoo.weights import apply_state_dict

SEED = 1234


@pytest.fixture(scope="module")
def converted() -> RtsNet:
    """The seeded official state dict through the ``rts-resnet50`` checkpoint filter, loaded strictly.

    ``trackerzoo convert rts50.pth --tracker rts-resnet50`` runs the same filter after reading
    the ltr checkpoint's ``net`` entry with the restricted unpickler, then the same strict load.
    """
    state = official_state_dict(official_keys(), SEED)
    network = RtsNet(MODEL_CONFIGS["resnet50"])
    detecting_checkpoint_filter(state, network)  # `--tracker rts`: detects resnet50, loads strictly into it
    return network.eval()


def test_our_resnet50_variant_has_exactly_the_official_keys_and_shapes(converted: RtsNet) -> None:
    ours = {name: list(value.shape) for name, value in converted.state_dict().items()}
    official = {name: shape for name, shape, _ in official_keys()}
    assert ours == official


def test_conversion_is_strict(converted: RtsNet) -> None:
    state = official_state_dict(official_keys(), SEED)
    state.pop("decoder.project.conv2.bias")
    state["clf_encoder.extra.weight"] = torch.zeros(1)
    with pytest.raises(ValueError, match=r"decoder\.project\.conv2\.bias"):
        apply_state_dict(converted, checkpoint_filter(state, converted), source="broken rts50.pth")


def _close(ours: torch.Tensor, official: torch.Tensor, tolerance: float = 1e-4) -> None:
    assert ours.shape == official.shape
    scale = official.abs().max().clamp(min=1e-6)
    assert float((ours - official).abs().max() / scale) < tolerance


def test_modules_and_whole_network_match_the_official_outputs(converted: RtsNet) -> None:
    expected = load_file(str(FIXTURES / "rts50_oracle_outputs.safetensors"))
    clip = oracle_inputs()
    with torch.no_grad():
        frames = clip["frames"]
        levels = converted.backbone(frames[0])
        _close(converted.segmentation_features(levels), expected["segmentation_features"])
        _close(converted.instance_features(levels), expected["instance_features"])
        encoding, weights = converted.label_encoding(clip["masks"][:, :1])
        _close(encoding, expected["label_encoding"])
        _close(weights, expected["label_weights"])
    torch.set_grad_enabled(True)
    try:
        outputs = converted(frames, clip["boxes"], clip["masks"], clip["labels"], refinement_iters=2)
    finally:
        torch.set_grad_enabled(True)
    scores = torch.stack([s.detach()[0] for s in outputs.instance_scores])  # [6, J-1, 1, h, w]
    _close(scores, expected["instance_scores"])
    with torch.no_grad():
        encoded, _ = converted.clf_encoder(scores[-1])
    _close(encoded, expected["score_encoding"][:, 0])
    _close(outputs.mask_logits.detach()[0], expected["mask_logits"])


def test_sta_converts_strictly_and_matches_the_official_box_to_mask_network() -> None:
    assert filter_name("rts", "sta") == "rts-sta" and filter_name("rts", None) == "rts"
    with pytest.raises(ValueError, match="--part"):
        filter_name("rts", "../x")
    network = StaNet(MODEL_CONFIGS["resnet50"])
    keys = official_keys("sta_keys.json")
    assert {name: list(v.shape) for name, v in network.state_dict().items()} == {k: s for k, s, _ in keys}
    state = official_state_dict(keys, 4321)
    apply_state_dict(network, checkpoint_filter(state, network), source="seeded sta.pth.tar")
    expected = load_file(str(FIXTURES / "sta_oracle_outputs.safetensors"))
    clip = oracle_inputs()
    with torch.no_grad():
        first, final = network.eval()(clip["frames"][0, :2], clip["boxes"][0, :2])
    _close(first[:, 0], expected["first_logits"][0])
    _close(final[:, 0], expected["final_logits"][0])
