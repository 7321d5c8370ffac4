"""``trackerzoo train <recipe>``: run a training recipe registered by a plugin."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from trackerzoo.cli.options import add_set_option


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a model with a plugin's recipe",
        description="Train a model with a registered recipe. Every hyper-parameter of the recipe can be "
        "changed with --set key=value; a run checkpoints periodically and --resume continues it exactly.",
    )
    parser.add_argument("recipe", nargs="?", help="recipe name (omit, or use --list, to list the recipes)")
    add_set_option(parser, dest="settings", what="a recipe setting (e.g. lr=1e-4, steps=20000)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: runs/<recipe>)")
    parser.add_argument("--resume", action="store_true",
                        help="continue from the newest checkpoint in --out, with the settings the run started "
                        "with (--set may change steps, val_every, checkpoint_every, ...)")
    parser.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda or cuda:N")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--list", action="store_true", help="list the available recipes and exit")
    parser.set_defaults(func=run)


def _print_recipes() -> int:
    from trackerzoo.registry import default_registry

    recipes = default_registry().recipes
    if not recipes:
        print("no training recipes installed (tracker plugins register them)")
        return 0
    width = max(len(name) for name in recipes)
    for name in sorted(recipes):
        info = recipes[name]
        print(f"{name:<{width}}  {info.tracker:<10}  {info.distribution}  {info.description}")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.list or args.recipe is None:
        return _print_recipes()
    from trackerzoo.training import Trainer, build_recipe, parse_assignments
    from trackerzoo.training.recipe import get_recipe_info
    from trackerzoo.training.trainer import saved_run_settings

    get_recipe_info(args.recipe)  # an unknown name fails here, listing the available recipes
    out_dir = args.out if args.out is not None else Path("runs") / args.recipe
    overrides: dict[str, object] = dict(parse_assignments(args.settings))
    if args.resume:
        # Continue with the settings the run started with; --set changes only what it names.
        overrides = {**saved_run_settings(out_dir, args.recipe), **overrides}
    recipe = build_recipe(args.recipe, overrides)
    trainer = Trainer(recipe, out_dir, device=args.device, progress=not args.no_progress)
    result = trainer.fit(resume=args.resume)
    if not trainer.is_main:
        return 0
    if result.finished:
        print(f"trained {recipe.name!r} for {result.step} steps; weights: {result.model_file}")
    else:
        print(f"stopped at step {result.step}; resume with: trackerzoo train {recipe.name} --out {out_dir} "
              f"--resume", file=sys.stderr)
    if result.validation:
        last = result.validation[-1]
        print("last validation: " + ", ".join(f"{key}={value:.4f}" for key, value in last.items()
                                              if key != "step"))
    return 0
