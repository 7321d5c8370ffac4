"""CRACT's discriminator fits, old (explicit Jacobian + ``ops.dcf_cg``) against the current
matrix-free Gauss-Newton, in one process, interleaved, one thread; prints medians.

Usage (the old code from any commit before the change, e.g. 3ef1e69)::

    git worktree add /tmp/old 3ef1e69 && cp trackerzoo/_C*.so /tmp/old/trackerzoo/
    PYTHONPATH=$PWD:$PWD/plugins/cract OMP_NUM_THREADS=1 python benchmarks/compare_discriminator_update.py /tmp/old
"""

from __future__ import annotations

import importlib.util
import statistics
import sys
import time
from pathlib import Path

import torch
from trackerzoo_cract.model import Discriminator

from trackerzoo.learners import gauss_newton_fit


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(old_root: str, rounds: int = 15) -> None:
    torch.set_num_threads(1)
    root = Path(old_root)
    old_gn = _load("old_gauss_newton", root / "trackerzoo/learners/gauss_newton.py")
    old_disc = _load("old_discriminator", root / "plugins/cract/trackerzoo_cract/model/discriminator.py")
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    new = Discriminator(128, 46, 8, 32)
    old = old_disc.Discriminator(128, 46, 8, 32)
    levels = tuple(torch.randn(1200, 128, s, s, generator=gen) for s in (6, 3, 1))
    labels = (torch.arange(1200) < 200).float()
    weights = torch.where(labels > 0, 0.5 / 200, 0.5 / 1000)
    gauss_newton_fit(new, levels, labels, weights, reg=new.regularization(levels, 0.01, 1e-4),
                     gauss_newton_iters=2, cg_iters=10)
    with torch.no_grad():
        projected = new.project(levels)[:1100] * (1 + 0.1 * torch.randn(1100, 368, generator=gen)).clamp(min=0)
    start = {k: v.clone() for k, v in new.state_dict().items()}
    args = (projected, labels[:1100], torch.full((1100,), 1 / 1100))
    times: dict[str, list[float]] = {"explicit": [], "matrix-free": []}
    for _ in range(rounds):
        old.load_state_dict(start)
        t0 = time.perf_counter()
        h_old = old_gn.gauss_newton_fit(old, *args, reg=0.01, gauss_newton_iters=1, cg_iters=5, backend="auto")
        times["explicit"].append(time.perf_counter() - t0)
        new.load_state_dict(start)
        t0 = time.perf_counter()
        h_new = gauss_newton_fit(new, *args, reg=0.01, gauss_newton_iters=1, cg_iters=5)
        times["matrix-free"].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) * 1e3 for k, v in times.items()}
    print(f"update N=1100 P=11841 1x5, {rounds} rounds: explicit {med['explicit']:.1f} ms, "
          f"matrix-free {med['matrix-free']:.1f} ms, {med['explicit'] / med['matrix-free']:.1f}x; "
          f"objective after: explicit {h_old[1]:.6g}, matrix-free {h_new[1]:.6g}")


if __name__ == "__main__":
    main(sys.argv[1], *(int(a) for a in sys.argv[2:3]))
