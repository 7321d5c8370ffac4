"""Shapes, strides, layouts and key names of the backbones.

Expected channel counts, parameter counts and map sizes are the published ones (the
ResNet/MobileNetV2 papers, torchvision's model cards, SiamRPN++'s 15x15/31x31 maps),
not values read back from our code.
"""

from __future__ import annotations

import pytest
import torch

from trackerzoo.errors import WeightsNotFoundError
from trackerzoo.nn.backbones import build_backbone, imagenet_normalize

RESNET_LAYERS = ["conv1", "layer1", "layer2", "layer3", "layer4"]
MOBILENET_LAYERS = ["stride4", "stride8", "stride16", "stride32"]
RESNET18_CHANNELS = {"conv1": 64, "layer1": 64, "layer2": 128, "layer3": 256, "layer4": 512}
RESNET50_CHANNELS = {"conv1": 64, "layer1": 256, "layer2": 512, "layer3": 1024, "layer4": 2048}
MOBILENET_CHANNELS = {"stride4": 24, "stride8": 32, "stride16": 96, "stride32": 1280}
PLAIN_STRIDES = {"conv1": 2, "layer1": 4, "layer2": 8, "layer3": 16, "layer4": 32}
DILATED_STRIDES = {"conv1": 2, "layer1": 4, "layer2": 8, "layer3": 8, "layer4": 8}
# torchvision's totals minus the fc head (resnet18 11,689,512 - 513,000; resnet50 25,557,032 - 2,049,000;
# mobilenet_v2 3,504,872 - 1,281,000).
TRUNK_PARAMETERS = {"resnet18": 11_176_512, "resnet50": 23_508_032, "mobilenetv2": 2_223_872}


def _run(backbone: torch.nn.Module, size: int) -> dict[str, torch.Tensor]:
    backbone.eval()
    with torch.no_grad():
        return backbone(torch.rand(1, 3, size, size))


@pytest.mark.parametrize("name, channels", [("resnet18", RESNET18_CHANNELS), ("resnet50", RESNET50_CHANNELS)])
@pytest.mark.parametrize("style", ["torchvision"])
@pytest.mark.parametrize("dilated", [False, True])
def test_resnet_shapes_and_strides(name, channels, style, dilated):
    backbone = build_backbone(name, output_layers=RESNET_LAYERS, dilated=dilated, style=style)
    expected_strides = DILATED_STRIDES if dilated else PLAIN_STRIDES
    assert backbone.strides == expected_strides
    assert backbone.out_channels == channels
    outputs = _run(backbone, 64)
    assert list(outputs) == RESNET_LAYERS
    for layer, tensor in outputs.items():
        assert tensor.shape == (1, channels[layer], 64 // expected_strides[layer], 64 // expected_strides[layer])


@pytest.mark.parametrize(
    "dilated, expected",
    [
        (False, {"stride4": 4, "stride8": 8, "stride16": 16, "stride32": 32}),
        (True, {"stride4": 4, "stride8": 8, "stride16": 8, "stride32": 8}),
    ],
)
def test_mobilenetv2_shapes_and_strides(dilated, expected):
    backbone = build_backbone("mobilenetv2", output_layers=MOBILENET_LAYERS, dilated=dilated)
    assert backbone.strides == expected
    assert backbone.out_channels == MOBILENET_CHANNELS
    outputs = _run(backbone, 64)
    for layer, tensor in outputs.items():
        assert tensor.shape == (1, MOBILENET_CHANNELS[layer], 64 // expected[layer], 64 // expected[layer])


def test_dilated_variants_keep_stride_8_through_the_last_layer():
    resnet = _run(build_backbone("resnet50", output_layers=["layer2", "layer3", "layer4"], dilated=True), 96)
    assert {t.shape[-1] for t in resnet.values()} == {12}
    mobilenet = _run(build_backbone("mobilenetv2", output_layers=["stride8", "stride32"], dilated=True), 96)
    assert {t.shape[-1] for t in mobilenet.values()} == {12}


def test_dilated_resnet_uses_dilation_2_then_4():
    backbone = build_backbone("resnet50", output_layers=["layer4"], dilated=True)
    assert backbone.layer3[0].conv2.stride == (1, 1) and backbone.layer3[0].conv2.dilation == (1, 1)
    assert backbone.layer3[1].conv2.dilation == (2, 2)
    assert backbone.layer4[0].conv2.dilation == (2, 2)
    assert backbone.layer4[2].conv2.dilation == (4, 4)


def test_pysot_layout_gives_siamrpn_map_sizes():
    """SiamRPN++/Ocean: a 127 template gives 15x15 and a 255 search region 31x31 at layer3."""
    backbone = build_backbone("resnet50", output_layers=["layer2", "layer3"], dilated=True, style="pysot")
    assert _run(backbone, 127)["layer3"].shape == (1, 1024, 15, 15)
    assert _run(backbone, 255)["layer3"].shape == (1, 1024, 31, 31)
    # Its shortcut convs are 3x3, the shapes the official checkpoints hold.
    assert backbone.layer2[0].downsample[0].weight.shape == (512, 256, 3, 3)
    assert backbone.layer3[0].downsample[0].weight.shape == (1024, 512, 3, 3)
    assert backbone.conv1.padding == (0, 0)


def test_mrcnn_layout_puts_the_stride_in_the_first_1x1_conv():
    mrcnn = build_backbone("resnet50", output_layers=["layer2"], style="mrcnn")
    plain = build_backbone("resnet50", output_layers=["layer2"])
    assert mrcnn.layer2[0].conv1.stride == (2, 2) and mrcnn.layer2[0].conv2.stride == (1, 1)
    assert plain.layer2[0].conv1.stride == (1, 1) and plain.layer2[0].conv2.stride == (2, 2)
    # Same keys and shapes, so the layouts are interchangeable for loading but not in function.
    mrcnn.load_state_dict(plain.state_dict(), strict=True)
    x = torch.rand(1, 3, 64, 64)
    mrcnn.eval(), plain.eval()
    assert not torch.allclose(mrcnn(x)["layer2"], plain(x)["layer2"])


@pytest.mark.parametrize("name", ["resnet18", "resnet50", "mobilenetv2"])
def test_full_trunk_parameter_counts_match_the_published_models(name):
    layers = ["layer4"] if name.startswith("resnet") else ["stride32"]
    backbone = build_backbone(name, output_layers=layers)
    assert sum(p.numel() for p in backbone.parameters()) == TRUNK_PARAMETERS[name]


def test_resnet_key_names_follow_the_torchvision_layout():
    keys = set(build_backbone("resnet50", output_layers=["layer4"]).state_dict())
    for key in ["conv1.weight", "bn1.running_var", "layer1.0.conv1.weight", "layer1.0.downsample.0.weight",
                "layer1.0.downsample.1.num_batches_tracked", "layer4.2.bn3.bias"]:  # fmt: skip
        assert key in keys
    assert len(keys) == 318  # torchvision's resnet50 state dict has 320 entries, 2 of them fc.*
    assert len(build_backbone("resnet18", output_layers=["layer4"]).state_dict()) == 120  # 122 minus fc


def test_backbone_is_built_and_run_only_up_to_the_deepest_requested_layer():
    backbone = build_backbone("resnet50", output_layers=["conv1", "layer2"])
    assert not hasattr(backbone, "layer3") and not hasattr(backbone, "layer4")
    assert not any(key.startswith(("layer3.", "layer4.")) for key in backbone.state_dict())
    outputs = _run(backbone, 64)
    assert list(outputs) == ["conv1", "layer2"]
    mobilenet = build_backbone("mobilenetv2", output_layers=["stride8"])
    assert len(mobilenet.features) == 7
    assert list(_run(mobilenet, 64)) == ["stride8"]


def test_output_layers_are_returned_in_network_order_whatever_the_request_order():
    backbone = build_backbone("resnet18", output_layers=["layer3", "layer1"])
    assert list(_run(backbone, 64)) == ["layer1", "layer3"]
    assert build_backbone("resnet18", output_layers="layer2").output_layers == ("layer2",)


@pytest.mark.parametrize(
    "kwargs, offending",
    [
        ({"name": "resnet101", "output_layers": ["layer1"]}, "resnet101"),
        ({"name": "resnet50", "output_layers": ["layer5"]}, "layer5"),
        ({"name": "mobilenetv2", "output_layers": ["layer3"]}, "layer3"),
        ({"name": "resnet50", "output_layers": []}, "at least one"),
        ({"name": "resnet50", "output_layers": ["layer1", "layer1"]}, "duplicates"),
        ({"name": "resnet50", "output_layers": ["layer1"], "style": "caffe"}, "caffe"),
        ({"name": "mobilenetv2", "output_layers": ["stride8"], "style": "pysot"}, "style"),
    ],
)
def test_bad_arguments_raise_value_errors_naming_the_value(kwargs, offending):
    name = kwargs.pop("name")
    with pytest.raises(ValueError, match=offending):
        build_backbone(name, **kwargs)


def test_forward_rejects_non_rgb_input():
    with pytest.raises(ValueError, match=r"\[1, 1, 32, 32\]|\(1, 1, 32, 32\)"):
        build_backbone("resnet18", output_layers=["conv1"])(torch.rand(1, 1, 32, 32))


def test_resnet_pretrained_weights_missing_says_how_to_obtain_them(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKERZOO_WEIGHTS_DIR", str(tmp_path))
    with pytest.raises(WeightsNotFoundError, match="trackerzoo convert"):
        build_backbone("resnet50", output_layers=["layer3"], pretrained=True)


def test_imagenet_normalize_maps_mean_to_zero_and_mean_plus_std_to_one():
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    assert torch.allclose(imagenet_normalize(mean.expand(2, 3, 4, 4)), torch.zeros(2, 3, 4, 4), atol=1e-6)
    assert torch.allclose(imagenet_normalize((mean + std).expand(1, 3, 2, 2)), torch.ones(1, 3, 2, 2), atol=1e-6)
    assert imagenet_normalize(torch.rand(3, 5, 5)).shape == (3, 5, 5)


@pytest.mark.parametrize(
    "bad", [torch.zeros(1, 4, 8, 8), torch.zeros(8, 8), torch.zeros(1, 3, 8, 8, dtype=torch.uint8)]
)
def test_imagenet_normalize_rejects_bad_input(bad):
    with pytest.raises(ValueError):
        imagenet_normalize(bad)
