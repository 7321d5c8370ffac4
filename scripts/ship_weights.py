"""Turn a training run's ``model.safetensors`` into a shipped weight file.

Writes ``weights/<name>.safetensors`` in fp16 and adds (or replaces) its entry in
``weights/manifest.json``. Metrics are given as JSON so that the manifest records what
was measured on the validation set, not what was hoped.

    python scripts/ship_weights.py runs/cract/model.safetensors --name cract_mobilenetv2 \\
        --tracker cract --variant mobilenetv2 --backbone mobilenetv2 --steps 2500 \\
        --data "..." --metrics '{"zoo-synth-val": {"auc": 0.516}}' --licence Apache-2.0
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from safetensors.torch import load_file

from trackerzoo.weights import ManifestEntry, save_safetensors, upsert_entry, weights_dir
from trackerzoo.weights.manifest import count_parameters


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path, help="trainer output (fp32 safetensors)")
    parser.add_argument("--name", required=True)
    parser.add_argument("--tracker", required=True)
    parser.add_argument("--variant", required=True)
    parser.add_argument("--backbone", required=True)
    parser.add_argument("--steps", type=int, required=True)
    parser.add_argument("--data", required=True, help="what it was trained on, rebuildable")
    parser.add_argument("--metrics", default="{}", help="JSON object of validation metrics")
    parser.add_argument("--licence", default="Apache-2.0")
    parser.add_argument("--source-note", default="", help="how it was trained (command, runs)")
    args = parser.parse_args()

    state = load_file(str(args.source))
    file_name = f"{args.name}.safetensors"
    target = Path(weights_dir()) / file_name
    sha256 = save_safetensors(state, target, fp16=True, metadata={"name": args.name, "tracker": args.tracker})
    entry = ManifestEntry(
        name=args.name,
        file=file_name,
        sha256=sha256,
        parameter_count=count_parameters(state),
        tracker=args.tracker,
        variant=args.variant,
        backbone=args.backbone,
        data=args.data,
        steps=args.steps,
        metrics=json.loads(args.metrics),
        licence=args.licence,
        source=args.source_note,
    )
    upsert_entry(entry)
    print(f"wrote {target} ({target.stat().st_size / 1e6:.1f} MB, sha256 {sha256[:12]}...)")


if __name__ == "__main__":
    main()
