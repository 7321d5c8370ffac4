"""``trackerzoo convert CHECKPOINT --tracker NAME [--part PART] --out FILE``: official checkpoint -> safetensors.

The checkpoint is read with a restricted unpickler that never imports or runs code
from the file, so converting a checkpoint downloaded from anywhere is safe. The key
renaming is the checkpoint filter that a plugin registered under NAME through the
``trackerzoo_register_checkpoint_filters`` hook (core adds ``plain`` and ``backbone``).
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "convert",
        help="convert an official (pickled) checkpoint to a safetensors weight file",
        description=(
            "Read a pytracking/ltr-format or plain PyTorch checkpoint without executing any code "
            "it contains, keep only its tensors, rename keys with the checkpoint filter a plugin "
            "registered for the tracker, and write a safetensors file."
        ),
    )
    parser.add_argument("checkpoint", type=Path, help="the official checkpoint (.pth, .pth.tar, .pt)")
    parser.add_argument(
        "--tracker",
        required=True,
        metavar="NAME",
        help="checkpoint filter to apply: a name registered by a plugin (usually the tracker's), "
        "or core's 'plain' (keys unchanged) or 'backbone' (ImageNet classifier -> backbone)",
    )
    parser.add_argument(
        "--part",
        metavar="PART",
        help="convert one part of a tracker that ships several networks: uses the filter registered as "
        "NAME-PART (e.g. --tracker rts --part sta for RTS's box-to-mask network)",
    )
    parser.add_argument("--out", required=True, type=Path, help="output .safetensors file")
    parser.add_argument(
        "--strip-prefix",
        action="append",
        default=[],
        metavar="PREFIX",
        help="remove PREFIX from keys before the tracker's filter runs (repeatable)",
    )
    parser.add_argument("--fp32", action="store_true", help="store float32 instead of the default float16")
    parser.set_defaults(func=run)


def filter_name(tracker: str, part: str | None) -> str:
    """The checkpoint filter ``--tracker NAME [--part PART]`` selects: ``NAME`` or ``NAME-PART``."""
    if part is None:
        return tracker
    if not part.replace("-", "").replace("_", "").isalnum():
        raise ValueError(f"--part must be a plain name such as 'sta', got {part!r}")
    return f"{tracker}-{part}"


def run(args: argparse.Namespace) -> int:
    from trackerzoo.weights.converter import convert_checkpoint

    report = convert_checkpoint(
        args.checkpoint,
        args.out,
        tracker=filter_name(args.tracker, args.part),
        strip_prefixes=args.strip_prefix,
        fp16=not args.fp32,
    )
    print(f"wrote {report.out}: {report.tensor_count} tensors, {report.element_count:,} values")
    print(f"sha256 {report.sha256}")
    if report.wrapper:
        print(f"state dict taken from the checkpoint's {report.wrapper!r} entry")
    if report.dropped_entries:
        print(f"dropped {len(report.dropped_entries)} non-tensor entries: {', '.join(report.dropped_entries[:10])}")
    if report.placeholder_origins:
        print(f"not imported (inert placeholders): {', '.join(report.placeholder_origins)}")
    return 0
