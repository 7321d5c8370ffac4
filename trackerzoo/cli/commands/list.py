"""``trackerzoo list``: the installed trackers, which variants have shipped weights, broken plugins.

``trackerzoo list --params NAME`` prints one tracker's declared parameters instead.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys

from trackerzoo.params import describe_params, relations_of
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
    parser.add_argument(
        "--params",
        metavar="NAME",
        help="print tracker NAME's parameters (name, type, default, valid range, meaning) and the rules "
        "between them; each can be changed with --set name=value",
    )
    parser.set_defaults(func=run)


def _print_params(name: str, as_json: bool) -> int:
    """The parameter table of tracker ``name`` (``TrackerNotFoundError`` listing the others if unknown)."""
    info = default_registry().get(name)
    params_type = getattr(info.factory, "Params", None)
    rows = describe_params(params_type) if params_type is not None else []
    relations = [relation.text for relation in relations_of(params_type)] if params_type is not None else []
    if as_json:
        print(json.dumps({"tracker": name, "params": [dataclasses.asdict(row) for row in rows],
                          "relations": relations}, indent=2, default=repr))
        return 0
    if not rows:
        print(f"{name} takes no parameters")
        return 0
    header = ("NAME", "TYPE", "DEFAULT", "VALID", "MEANING")
    table = [(row.name, row.type, repr(row.default), row.valid, row.help) for row in rows]
    widths = [max(len(line[column]) for line in [header, *table]) for column in range(4)]
    print(f"parameters of {name} (change with --set name=value):")
    for line in [header, *table]:
        print("  ".join(cell.ljust(width) for cell, width in zip(line[:4], widths, strict=True)) + "  " + line[4])
    if relations:
        print("rules: " + "; ".join(relations))
    return 0


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
    if args.params:
        return _print_params(args.params, args.json)
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
