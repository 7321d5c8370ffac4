"""Entry point of the ``trackerzoo`` console script."""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import pkgutil
import sys
import warnings

from trackerzoo.cli import commands
from trackerzoo.errors import DataWarning


def _version() -> str:
    """The installed distribution's version (``pyproject.toml``), or ``unknown`` when not installed."""
    try:
        return importlib.metadata.version("trackerzoo")
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="trackerzoo", description="A zoo of single-object visual trackers.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{module_info.name}")
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:  # `trackerzoo` alone: say what there is to do
        parser.print_help()
        return 0
    shown = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, DataWarning):  # a finding about the user's data: one plain line
            print(f"trackerzoo {args.command}: warning: {message}", file=sys.stderr)
        else:
            shown(message, category, filename, lineno, file, line)

    try:
        with warnings.catch_warnings():
            warnings.showwarning = show
            warnings.simplefilter("always", DataWarning)
            return int(args.func(args) or 0)
    except (ValueError, KeyError, FileNotFoundError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"trackerzoo {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
