"""``trackerzoo vot-server``: serve a tracker to the VOT toolkit over the TraX protocol.

The VOT toolkit starts this command itself (a ``trackers.ini`` entry with
``protocol = trax``, see README) and talks to it on standard input and output; it is
not meant to be run by hand. Anything the tracker or the library would print goes to
standard error instead, so that only protocol messages reach standard output.
"""

from __future__ import annotations

import argparse
import contextlib
import sys

import trackerzoo
from trackerzoo.cli.options import add_tracker_options, tracker_kwargs
from trackerzoo.io.trax_server import REPORT_MODES, TRAX_PACKAGE, import_trax, serve


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "vot-server", help="serve a tracker to the VOT toolkit (TraX protocol on stdin/stdout)",
        description=("Speak the TraX protocol on standard input/output so that `vot evaluate` runs the "
                     f"tracker (needs the {TRAX_PACKAGE!r} package). Started by the VOT toolkit from a "
                     "trackers.ini entry with protocol=trax; see README."))
    add_tracker_options(parser, required=True)
    parser.add_argument("--report", choices=REPORT_MODES, default="auto",
                        help="regions sent back: 'auto' = the mask when the tracker makes one, else the box; "
                             "'rectangle' = always the box; 'rotated' = the rotated box as a polygon (the box "
                             "on frames without one)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    trax = import_trax()  # before building the tracker: a missing package is a one-line error
    with contextlib.redirect_stdout(sys.stderr):  # standard output carries the protocol only
        tracker = trackerzoo.create(args.tracker, **tracker_kwargs(args))
        serve(tracker, report=args.report, name=args.tracker, trax=trax)
    return 0
