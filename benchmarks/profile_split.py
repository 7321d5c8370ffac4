"""Per-frame time split of each tracker's ``track()``: backbone, heads, ops, online update, OpenCV, Python rest.

    python benchmarks/profile_split.py [--frames 40] [--trackers cract,csrt,kcf,mil] [--set inference=fast]

One thread (``torch.set_num_threads(1)``), frames decoded beforehand, the bundled clip.
Wall-clock timers are put around the parts of a tracker without changing it: forward
hooks on its modules, wrappers around ``trackerzoo.ops`` functions and around instance
methods. Each part gets its *self* time (a part nested in another is charged to the inner
one only), and "Python rest" is ``track()`` minus every part: crops, proposal selection,
NMS, box bookkeeping, input checks. Parts:

- backbone: CRACT's shared feature extractor (``tracker.features``); IBFP's backbone and
  level adjust convs;
- IBU/CSCS: IBFP's upsampling network (its correlations count as ops);
- heads: the RPN branches' convs, the CRAC regression and identification heads, the online
  discriminator's scoring; IBFP's prediction head and its online branch's scoring;
- ops: the ``trackerzoo.ops`` kernels (``dw_xcorr``, ``pyramid_roi_align``, ...);
- online update: the discriminator's sample collection and refit (every ``update_interval`` frames);
- OpenCV: the C++ ``update()`` of an OpenCV tracker (all its work: features, filters, update).
"""

from __future__ import annotations

import argparse
import functools
import itertools
import os
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import torch

PARTS = ("backbone", "IBU/CSCS", "heads", "ops", "online update", "OpenCV", "Python rest")
OPS = ("dw_xcorr", "pyramid_roi_align", "lut_affinity_softmax", "dcf_cg", "dcf_normal_apply")


class SplitTimer:
    """Self time per part, with nesting: entering a part pauses the part it is called from."""

    def __init__(self) -> None:
        self.totals: dict[str, float] = defaultdict(float)
        self._stack: list[str] = []
        self._mark = 0.0

    def enter(self, part: str) -> None:
        now = time.perf_counter()
        if self._stack:
            self.totals[self._stack[-1]] += now - self._mark
        self._stack.append(part)
        self._mark = now

    def leave(self) -> None:
        now = time.perf_counter()
        self.totals[self._stack.pop()] += now - self._mark
        self._mark = now

    def wrap(self, function: Callable[..., Any], part: str) -> Callable[..., Any]:
        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            self.enter(part)
            try:
                return function(*args, **kwargs)
            finally:
                self.leave()

        return timed

    def hook(self, module: torch.nn.Module, part: str) -> None:
        module.register_forward_pre_hook(lambda *_: self.enter(part))
        module.register_forward_hook(lambda *_: self.leave())


def _instrument_cract(tracker: Any, timer: SplitTimer) -> None:
    timer.hook(tracker.features, "backbone")
    network = tracker.network
    for module in (network.rpn, network.regressor, network.identifier):
        timer.hook(module, "heads")
    discriminator = tracker.discriminator
    discriminator.score = timer.wrap(discriminator.score, "heads")
    discriminator.collect = timer.wrap(discriminator.collect, "online update")
    discriminator.update = timer.wrap(discriminator.update, "online update")


def _instrument_ibfp(tracker: Any, timer: SplitTimer) -> None:
    """IBFP's parts; its network runs eagerly here (``inference=eager``): a traced graph has no module hooks."""
    network = tracker.network
    timer.hook(network.features, "backbone")
    for name in ("ibu1", "ibu2", "cscs1", "cscs2", "merge"):
        if hasattr(network, name):
            timer.hook(getattr(network, name), "IBU/CSCS")
    timer.hook(network.head, "heads")
    online = tracker.online
    if online is not None:
        online.scores = timer.wrap(online.scores, "heads")
        online.remember = timer.wrap(online.remember, "online update")
        online.update = timer.wrap(online.update, "online update")


def _instrument_opencv(tracker: Any, timer: SplitTimer) -> None:
    tracker._cv_update = timer.wrap(tracker._cv_update, "OpenCV")


def profile(name: str, clip: list, frames: int, params: dict[str, Any]) -> dict[str, float]:
    """Milliseconds per frame of each part for tracker ``name`` over ``frames`` frames of ``clip``."""
    import trackerzoo
    from trackerzoo import ops
    from trackerzoo.demo_data import DEMO_INIT_BOX

    if name == "ibfp":
        params = {"inference": "eager", **params}
    tracker = trackerzoo.create(name, device="cpu", threads=1, **params)
    tracker.initialize(clip[0], box=DEMO_INIT_BOX)
    timer = SplitTimer()
    originals = {op: getattr(ops, op) for op in OPS if hasattr(ops, op)}
    try:
        for op, function in originals.items():
            setattr(ops, op, timer.wrap(function, "ops"))
        if name == "cract":
            _instrument_cract(tracker, timer)
        elif name == "ibfp":
            _instrument_ibfp(tracker, timer)
        else:
            _instrument_opencv(tracker, timer)
        start = time.perf_counter()
        for frame in clip[1:frames + 1]:
            tracker.track(frame)
        total = time.perf_counter() - start
    finally:
        for op, function in originals.items():
            setattr(ops, op, function)
    split = {part: 1000.0 * timer.totals.get(part, 0.0) / frames for part in PARTS[:-1]}
    split["Python rest"] = 1000.0 * total / frames - sum(split.values())
    split["total"] = 1000.0 * total / frames
    return split


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--trackers", default="cract,ibfp,csrt,kcf,mil")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="CRACT and IBFP parameter, e.g. inference=fast (repeatable)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    from trackerzoo.cli.options import parse_overrides
    from trackerzoo.demo_data import DEMO_CLIP
    from trackerzoo.io import open_frames

    clip = list(itertools.islice(open_frames(DEMO_CLIP), args.frames + 1))
    cract_params = parse_overrides(args.set)
    print(f"load average at start: {os.getloadavg()}; 1 thread; {args.frames} frames of the demo clip; "
          f"CRACT parameters: {cract_params or 'defaults'}")
    print("| tracker | total ms/frame | " + " | ".join(PARTS) + " |")
    print("|---|---|" + "---|" * len(PARTS))
    for name in args.trackers.split(","):
        split = profile(name, clip, args.frames, cract_params if name in ("cract", "ibfp") else {})
        cells = " | ".join(f"{split[part]:.2f} ({100 * split[part] / split['total']:.0f}%)" if split[part] else "-"
                           for part in PARTS)
        print(f"| {name} | {split['total']:.2f} | {cells} |")


if __name__ == "__main__":
    main()
