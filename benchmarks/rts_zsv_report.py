"""Box and mask metrics of ``trackerzoo eval`` VOT-layout runs on zoo-synth-val, from their frame-0 anchor runs.

A VOT-protocol run (``trackerzoo eval --dataset vot:DATA/vot``) is the only one that stores
the predicted masks. Its anchor-0 run starts at frame 0 from the ground truth and tracks to
the end without resets, i.e. it is the one-pass (OPE) run. This script turns each result
folder's anchor-0 runs into ``<seq>.txt`` region files and scores them with the core's
protocols: ``ope`` (success AUC, precision; boxes = tight boxes of the predicted regions) and
``davis`` (J, F, J&F; box results are rasterised, i.e. the box-as-mask baseline).

    python benchmarks/rts_zsv_report.py --data /work/data/zsv --out runs/zsv_report RUN_A RUN_B ...
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from trackerzoo.datasets import load_dataset
from trackerzoo.evaluation.benchmark import score_results
from trackerzoo.formats.regions import format_region, rasterize
from trackerzoo.formats.results_io import read_region_file, vot_result_path, write_box_file, write_region_lines
from trackerzoo.geometry import mask_to_box


def derive(run: Path, data: Path, out: Path) -> list[str]:
    """Write ``out/regions/<seq>.txt`` and ``out/boxes/<seq>.txt`` for the sequences ``run`` covers."""
    vot = load_dataset("vot", str(data / "vot"))
    done = []
    for sequence in vot:
        path = vot_result_path(run, sequence.name, 0)
        if not path.is_file():
            continue
        regions = read_region_file(path)
        width, height = sequence.image_size
        regions[0] = sequence.regions[0]  # the initialisation marker -> the ground truth it started from
        lines = [format_region(region) for region in regions]
        boxes = np.array([mask_to_box(rasterize(region, width, height)) for region in regions])
        write_region_lines(out / "regions" / f"{sequence.name}.txt", lines)
        write_box_file(out / "boxes" / f"{sequence.name}.txt", boxes)
        done.append(sequence.name)
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="result folders of trackerzoo eval on the VOT layout")
    parser.add_argument("--data", type=Path, required=True, help="zoo-synth-val root (holds vot/ and got10k/)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    table = {}
    covered = {run: derive(run, args.data, args.out / run.name) for run in args.runs}
    names = sorted(set.intersection(*(set(found) for found in covered.values())))  # the same sequences for all
    if not names:
        raise SystemExit("the runs have no frame-0 anchor run of a common sequence")
    for run in args.runs:
        folder = args.out / run.name
        dataset = load_dataset("synthetic", str(args.data)).subset(names)
        ope = score_results(dataset, folder / "boxes", "ope")
        davis = score_results(dataset, folder / "regions", "davis")
        table[run.name] = {"sequences": len(names), "auc": ope["auc"], "precision": ope["precision"],
                           "J": davis["J"], "F": davis["F"], "JF": davis["JF"]}
    print(json.dumps(table, indent=1))
    print("| run | sequences | AUC | precision | J | F | J&F |\n|---|---|---|---|---|---|---|")
    for name, row in table.items():
        print(f"| {name} | {row['sequences']} | {row['auc']:.3f} | {row['precision']:.3f} | {row['J']:.3f} | "
              f"{row['F']:.3f} | {row['JF']:.3f} |")


if __name__ == "__main__":
    main()
