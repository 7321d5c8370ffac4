"""``trackerzoo list``: the installed trackers, which variants have shipped weights, broken plugins."""

from __future__ import annotations

import argparse
import json
import sys

from trackerzoo.registry import Registry, TrackerInfo, default_registry
from trackerzoo.weights.manifest import weights_for

SHIPPED_MARK = "*"


def register(subparsers) -> None:
    parser = subparsers.add_parser("list", help="list installed trackers")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    parser.add_argument(
        "--verbose",
        "-v",
        action="store_true",
        help="also show each tracker's default variant and weight files, the other registered items "
        "(recipes, dataset kinds, checkpoint filters) and plugins that failed to import",
    )
    parser.set_defaults(func=run)


def shipped_variants(info: TrackerInfo) -> dict[str, str]:
    """Variant -> manifest name of its shipped weight file, for the variants that have one."""
    found = {}
    for variant in info.variants:
        entry = weights_for(info.name, variant)
        if entry is not None:
            found[variant] = entry.name
    return found


def _print_verbose_sections(registry: Registry) -> None:
    sections = [
        ("recipes", {name: f"{info.distribution}  {info.description}" for name, info in registry.recipes.items()}),
        ("dataset kinds", {kind: info.distribution for kind, info in registry.loaders.items()}),
        ("checkpoint filters", {name: info.distribution for name, info in registry.checkpoint_filters.items()}),
    ]
    for title, rows in sections:
        print(f"\n{title}:")
        width = max((len(name) for name in rows), default=0)
        for name in sorted(rows):
            print(f"  {name:<{width}}  {rows[name]}".rstrip())
    print("\nfailed plugins:")
    if not registry.failed_plugins:
        print("  none")
    for failed in registry.failed_plugins:
        print(f"  {failed.name}  (distribution {failed.distribution}): {failed.error}")


def run(args: argparse.Namespace) -> int:
    registry = default_registry()
    infos = [registry.trackers[name] for name in sorted(registry.trackers)]
    shipped = {info.name: shipped_variants(info) for info in infos}
    if args.json:
        rows = [
            {
                "name": i.name,
                "outputs": sorted(i.outputs),
                "variants": list(i.variants),
                "default_variant": i.default_variant,
                "shipped_weights": shipped[i.name],
                "distribution": i.distribution,
                "paper": i.paper,
            }
            for i in infos
        ]
        if args.verbose:
            failed = [
                {"name": f.name, "distribution": f.distribution, "error": f.error} for f in registry.failed_plugins
            ]
            print(json.dumps({"trackers": rows, "failed_plugins": failed}, indent=2))
        else:
            print(json.dumps(rows, indent=2))
        return 0
    if not infos:
        print("no trackers installed (install a plugin, e.g. pip install 'trackerzoo[opencv]')")
    else:
        header = ("NAME", "OUTPUTS", "DEFAULT", "VARIANTS", "DISTRIBUTION", "PAPER")
        rows = []
        for i in infos:
            variants = ",".join(v + (SHIPPED_MARK if v in shipped[i.name] else "") for v in i.variants)
            rows.append((i.name, "+".join(sorted(i.outputs)), i.default_variant, variants, i.distribution or "",
                         i.paper))
        widths = [max(len(row[column]) for row in [header, *rows]) for column in range(5)]
        print("  ".join(cell.ljust(width) for cell, width in zip(header[:5], widths, strict=True)) + "  " + header[5])
        for row, info in zip(rows, infos, strict=True):
            print("  ".join(cell.ljust(width) for cell, width in zip(row[:5], widths, strict=True)) + "  " + row[5])
            if args.verbose:
                files = ", ".join(f"{variant}: {name}" for variant, name in shipped[info.name].items()) or "none"
                print(f"    default variant {info.default_variant}; shipped weights: {files}")
                if info.description:
                    print(f"    {info.description}")
        if any(shipped.values()):
            print(f"({SHIPPED_MARK} variant with shipped weights in weights/manifest.json)")
    if args.verbose:
        _print_verbose_sections(registry)
    elif registry.failed_plugins:
        names = ", ".join(repr(failed.name) for failed in registry.failed_plugins)
        print(f"{len(registry.failed_plugins)} plugin(s) failed to import ({names}); see `trackerzoo list --verbose`",
              file=sys.stderr)
    return 0
