"""The shipped MobileNetV2 weights really are ImageNet weights: they classify real photos.

The photos are scikit-image's bundled samples (no download): ``coffee()`` is a cup of
espresso on a saucer and ``chelsea()`` a tabby cat. Class indices are ImageNet-1k's.
"""

from __future__ import annotations

import pytest
import torch

from trackerzoo.nn.backbones import MobileNetV2Classifier, build_backbone, imagenet_normalize
from trackerzoo.weights import load_into, load_state_dict

skimage_data = pytest.importorskip("skimage.data")

ESPRESSO = 967
CAT_CLASSES = {281: "tabby", 282: "tiger cat", 283: "Persian cat", 284: "Siamese cat", 285: "Egyptian cat"}


def imagenet_preprocess(image_uint8) -> torch.Tensor:
    """torchvision's evaluation recipe: short side to 256, centre crop 224, mean/std."""
    image = torch.from_numpy(image_uint8).permute(2, 0, 1).float().div(255.0)[None]
    height, width = image.shape[-2:]
    scale = 256 / min(height, width)
    size = (round(height * scale), round(width * scale))
    image = torch.nn.functional.interpolate(image, size=size, mode="bilinear", align_corners=False, antialias=True)
    top, left = (size[0] - 224) // 2, (size[1] - 224) // 2
    return imagenet_normalize(image[..., top : top + 224, left : left + 224])


@pytest.fixture(scope="module")
def classifier() -> MobileNetV2Classifier:
    return load_into(MobileNetV2Classifier(), "mobilenetv2_imagenet").eval()


@pytest.fixture(scope="module")
def photos() -> torch.Tensor:
    return torch.cat([imagenet_preprocess(skimage_data.coffee()), imagenet_preprocess(skimage_data.chelsea())])


def test_converted_weights_classify_real_photos(classifier, photos):
    with torch.no_grad():
        probabilities = classifier(photos).softmax(dim=1)
    coffee, cat = probabilities
    assert int(coffee.argmax()) == ESPRESSO
    assert float(coffee[ESPRESSO]) > 0.5
    assert int(cat.argmax()) in CAT_CLASSES
    assert set(cat.topk(3).indices.tolist()) <= set(CAT_CLASSES)
    assert float(cat[list(CAT_CLASSES)].sum()) > 0.8


def test_pretrained_backbone_matches_the_classifier_trunk(classifier, photos):
    """build_backbone(pretrained=True) loads the same trunk, also when truncated or dilated."""
    full = build_backbone("mobilenetv2", output_layers=["stride8", "stride32"], pretrained=True).eval()
    truncated = build_backbone("mobilenetv2", output_layers=["stride16"], pretrained=True).eval()
    with torch.no_grad():
        trunk = classifier.features(photos[:1])
        outputs = full(photos[:1])
        assert torch.allclose(outputs["stride32"], trunk, atol=1e-5)
        assert torch.allclose(truncated(photos[:1])["stride16"], classifier.features[:14](photos[:1]), atol=1e-5)
    dilated = build_backbone("mobilenetv2", output_layers=["stride32"], dilated=True, pretrained=True)
    stored = load_state_dict("mobilenetv2_imagenet")
    weight = "features.17.conv.1.0.weight"
    assert torch.equal(dilated.state_dict()[weight], stored[weight].float())
    assert dilated.features[17].conv[1][0].dilation == (4, 4)
