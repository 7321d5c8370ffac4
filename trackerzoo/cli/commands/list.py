"""``trackerzoo list``: the installed trackers."""

from __future__ import annotations

import argparse
import json

import trackerzoo


def register(subparsers) -> None:
    parser = subparsers.add_parser("list", help="list installed trackers")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    infos = trackerzoo.list_trackers()
    if args.json:
        rows = [
            {
                "name": i.name,
                "outputs": sorted(i.outputs),
                "variants": list(i.variants),
                "default_variant": i.default_variant,
                "distribution": i.distribution,
                "paper": i.paper,
            }
            for i in infos
        ]
        print(json.dumps(rows, indent=2))
        return 0
    if not infos:
        print("no trackers installed (install a plugin, e.g. pip install 'trackerzoo[opencv]')")
        return 0
    rows = [(i.name, "+".join(sorted(i.outputs)), ",".join(i.variants), i.distribution or "", i.paper) for i in infos]
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True)) + "  " + row[4])
    return 0
