"""Argument parsing helpers and option builders shared by the sub-commands."""

from __future__ import annotations

import argparse
import ast
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def parse_box(text: str) -> tuple[float, float, float, float]:
    """Parse ``x,y,w,h`` (pixels) from the command line.

    Raises ``ValueError`` naming the text unless it is 4 finite numbers with ``w, h > 0``;
    the checks that need the frame (overlap, size at most 4x the frame) are
    ``trackerzoo.validation.as_box``'s, when the tracker is initialised.
    """
    parts = text.replace(" ", "").split(",")
    if len(parts) != 4:
        raise ValueError(f"--init must be x,y,w,h (4 comma-separated numbers), got {text!r}")
    try:
        x, y, w, h = (float(p) for p in parts)
    except ValueError:
        raise ValueError(f"--init must be x,y,w,h numbers, got {text!r}") from None
    if not all(math.isfinite(v) for v in (x, y, w, h)):
        raise ValueError(f"--init must be finite numbers (no NaN, inf or overflowing values), got {text!r}")
    if w <= 0 or h <= 0:
        raise ValueError(f"--init width and height must be positive, got w={w:g}, h={h:g} in {text!r}")
    return (x, y, w, h)


# Shell-style spellings of booleans and None, so that ``--set use_x=false`` is False
# rather than the (truthy) string "false".
_WORDS = {"true": True, "false": False, "yes": True, "no": False, "on": True, "off": False, "none": None}


def parse_value(text: str) -> object:
    """A Python literal when ``text`` is one, a boolean/None word, else the text itself."""
    word = text.strip().lower()
    if word in _WORDS:
        return _WORDS[word]
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def parse_overrides(items: list[str] | None) -> dict[str, object]:
    """Parse repeated ``key=value`` options."""
    overrides: dict[str, object] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"expected key=value, got {item!r}")
        overrides[key] = parse_value(value)
    return overrides


# --------------------------------------------------------------------------- shared option builders
#
# Each sub-command adds its options with these builders, so that one idea has one spelling
# and one help text everywhere: ``--set key=value`` for tracker parameters, ``--dataset
# kind:root`` (+ ``--dataset-option key=value``) for datasets, ``--sequences a,b,c`` for a
# subset of sequences. Spellings of earlier releases still parse for one release and print
# a deprecation line on stderr (``DeprecatedAlias``).

DEPRECATION_NOTE = "the old spelling is removed in the next release"


def warn_deprecated(prog: str, old: str, new: str) -> None:
    """One line on stderr: ``old`` still works but ``new`` is the spelling to use."""
    print(f"{prog}: warning: {old} is deprecated, use {new} ({DEPRECATION_NOTE})", file=sys.stderr)


class DeprecatedAlias(argparse.Action):
    """An old option spelling: stores like ``store``/``append`` and warns once per use.

    ``replacement`` is the spelling to suggest; ``append=True`` collects repeated values
    into the same list as the new option (same ``dest``).
    """

    def __init__(self, option_strings: list[str], dest: str, *, replacement: str, append: bool = False,
                 **kwargs: Any) -> None:
        self.replacement = replacement
        self.append = append
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        warn_deprecated(parser.prog, str(option_string), self.replacement)
        if self.append:
            items = list(getattr(namespace, self.dest, None) or [])
            items.append(values)
            setattr(namespace, self.dest, items)
        else:
            setattr(namespace, self.dest, values)


class SequencesAction(argparse.Action):
    """``--sequences a,b,c`` (repeatable); names separated by spaces (the old ``eval`` form) warn."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        tokens = [values] if isinstance(values, str) else list(values)
        if len(tokens) > 1:
            warn_deprecated(parser.prog, f"{option_string} NAME NAME ... (names separated by spaces)",
                            f"{option_string} {','.join(tokens)}")
        names = list(getattr(namespace, self.dest, None) or [])
        new = [name.strip() for token in tokens for name in token.split(",") if name.strip()]
        if not new:
            parser.error(f"{option_string} needs sequence names (a,b,c), got {' '.join(tokens)!r}")
        setattr(namespace, self.dest, names + new)


def shipped_weights_text() -> str:
    """Which tracker variants have a shipped weight file, read from the weights manifest.

    E.g. ``"variants with shipped weights: mobilenetv2 (cract)"``; ``none`` when the manifest
    lists no tracker file (or is absent), and a short note when it cannot be read.
    """
    from trackerzoo.weights.manifest import read_manifest

    try:
        entries = read_manifest()
    except (OSError, ValueError) as exc:
        return f"variants with shipped weights: unknown (the weights manifest cannot be read: {exc})"
    served: dict[str, list[str]] = {}
    for entry in entries:
        if entry.tracker and entry.variant:
            served.setdefault(entry.tracker, []).append(entry.variant)
    listing = "; ".join(f"{', '.join(sorted(variants))} ({tracker})" for tracker, variants in sorted(served.items()))
    return f"variants with shipped weights: {listing or 'none'}"


def _escape(text: str) -> str:
    """argparse formats help with %-interpolation: protect literal percent signs."""
    return text.replace("%", "%%")


def add_set_option(parser: argparse.ArgumentParser, *, dest: str = "set",
                   what: str = "a tracker parameter (a field of the tracker's Params dataclass)",
                   deprecated: tuple[str, ...] = ()) -> None:
    """``--set KEY=VALUE`` (repeatable) into ``args.<dest>``; ``deprecated`` old spellings append there too."""
    parser.add_argument("--set", dest=dest, action="append", default=[], metavar="KEY=VALUE",
                        help=f"override {what}; repeatable, e.g. --set a=1 --set b=false")
    for old in deprecated:
        parser.add_argument(old, dest=dest, action=DeprecatedAlias, replacement="--set KEY=VALUE", append=True,
                            metavar="KEY=VALUE", help=argparse.SUPPRESS)


def parse_threads(text: str) -> int | str:
    """``--threads`` value: ``auto`` (any case) or an integer in [1, MAX_THREADS].

    Raises ``argparse.ArgumentTypeError`` (argparse prints it as a usage error) naming the text.
    """
    from trackerzoo.threads import validate_threads

    if text.strip().lower() == "auto":
        return "auto"
    try:
        value = validate_threads(int(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--threads must be 'auto' or a positive integer, got {text!r}") from None
    assert isinstance(value, int)
    return value


DEFAULT_THREADS_TEXT = "torch's own count, e.g. OMP_NUM_THREADS"
THREADS_HELP = ("torch intra-op threads: a number, or 'auto' (the free cores: CPU affinity minus the load of "
                "other processes, never more than torch's default; results may then vary with the load); "
                "OpenMP threads wait passively either way")


def add_tracker_options(parser: argparse.ArgumentParser, *, required: bool = False,
                        default_rule: str | None = None, deprecated_set: tuple[str, ...] = (),
                        threads_default: int | str | None = None, threads_help: str = THREADS_HELP) -> None:
    """``--tracker``, ``--variant``, ``--weights``, ``--device``, ``--threads`` and ``--set``, one help text each.

    ``required`` makes ``--tracker`` mandatory; otherwise ``default_rule`` says which
    tracker is used without it. ``deprecated_set`` names old spellings of ``--set``
    (``--param``) that this command accepted. ``threads_default`` and ``threads_help``
    let a command give ``--threads`` its own meaning (``eval``: threads per worker).
    Read them back with ``tracker_kwargs(args)``.
    """
    tracker_help = "registered tracker name (see `trackerzoo list`) or module:Class of a Tracker subclass"
    if not required:
        tracker_help += f" (default: {default_rule or 'the highest-ranked installed tracker'})"
    parser.add_argument("--tracker", required=required, default=None, help=tracker_help)
    shipped = _escape(shipped_weights_text())
    parser.add_argument("--variant", default=None,
                        help=f"model variant (default: the tracker's default variant, see `trackerzoo list`); "
                             f"{shipped}")
    parser.add_argument("--weights", default="default",
                        help=f"'default' (the shipped file of the variant), a .safetensors path, or 'none' "
                             f"(random initialisation); {shipped}")
    parser.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda or cuda:N")
    parser.add_argument("--threads", type=parse_threads, default=threads_default, metavar="N|auto",
                        help=f"{threads_help} (default: {threads_default or _escape(DEFAULT_THREADS_TEXT)})")
    add_set_option(parser, deprecated=deprecated_set)


def parse_weights(text: str | None) -> str | None:
    """``--weights`` value for ``trackerzoo.create``: ``'none'`` (any case) -> ``None``."""
    if text is None or str(text).lower() == "none":
        return None
    return str(text)


def tracker_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """``variant``, ``weights``, ``device``, ``threads`` and the ``--set`` parameters: ``trackerzoo.create`` keywords.

    ``args`` comes from a parser built with ``add_tracker_options``; raises ``ValueError``
    for a ``--set`` item that is not ``key=value``.
    """
    return {"variant": args.variant, "weights": parse_weights(args.weights), "device": args.device,
            "threads": args.threads, **parse_overrides(args.set)}


DATASET_HELP = ("dataset as KIND:ROOT, e.g. synthetic:/data/zoo-synth-val, otb:/data/OTB100, vot:/data/vot2020 "
                "(kinds: `trackerzoo list --verbose`; ROOT is a folder, or a video file for 'plain')")


def add_dataset_option(parser: argparse.ArgumentParser, *, required: bool = True,
                       legacy_root: bool = False, legacy_option: bool = False) -> None:
    """``--dataset KIND:ROOT`` and ``--dataset-option KEY=VALUE`` (loader options, repeatable).

    ``legacy_root`` accepts the old ``--dataset KIND --root ROOT`` pair, ``legacy_option``
    the old ``--option KEY=VALUE``; both warn. Read them back with ``dataset_from_args``.
    """
    parser.add_argument("--dataset", required=required, metavar="KIND:ROOT", help=DATASET_HELP)
    parser.add_argument("--dataset-option", dest="dataset_options", action="append", default=[],
                        metavar="KEY=VALUE", help="dataset loader option, e.g. split=val, year=2016 (repeatable)")
    if legacy_root:
        parser.add_argument("--root", action=DeprecatedAlias, replacement="--dataset KIND:ROOT",
                            help=argparse.SUPPRESS)
    if legacy_option:
        parser.add_argument("--option", dest="dataset_options", action=DeprecatedAlias,
                            replacement="--dataset-option KEY=VALUE", append=True, help=argparse.SUPPRESS)


@dataclass(frozen=True)
class DatasetArg:
    """What ``--dataset`` (and ``--dataset-option``) named: kind (lower case), root, loader options."""

    kind: str
    root: Path
    options: dict[str, object]

    @property
    def spec(self) -> str:
        """``kind:root`` as the user would type it."""
        return f"{self.kind}:{self.root}"


def dataset_from_args(args: argparse.Namespace) -> DatasetArg:
    """The dataset of ``add_dataset_option``'s options (the old ``--root`` form included).

    Raises ``ValueError`` for a ``--dataset`` without ``:`` (and no ``--root``), for both
    ``kind:root`` and ``--root``, and for a loader option that is not ``key=value``.
    """
    text = args.dataset
    legacy_root = getattr(args, "root", None)
    if legacy_root is not None:
        if ":" in text:
            raise ValueError(f"give the dataset once: --dataset {text} already names a root, drop --root {legacy_root}")
        text = f"{text}:{legacy_root}"
    from trackerzoo.evaluation.runner import parse_dataset_spec

    kind, root = parse_dataset_spec(text)
    return DatasetArg(kind, root, parse_overrides(args.dataset_options))


def add_sequences_option(parser: argparse.ArgumentParser) -> None:
    """``--sequences a,b,c`` (repeatable) into ``args.sequences`` (``None`` = every sequence)."""
    parser.add_argument("--sequences", action=SequencesAction, nargs="+", default=None, metavar="NAME[,NAME...]",
                        help="only these sequences: comma-separated names, e.g. --sequences Car4,Basketball")
