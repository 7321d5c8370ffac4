#!/usr/bin/env python
"""Every op: kernel vs reference vs stock-PyTorch alternatives, interleaved, with what ``auto`` picks.

    .venv/bin/python benchmarks/ops_alternatives.py                 # CPU, 1 thread
    .venv/bin/python benchmarks/ops_alternatives.py --device cuda   # on a GPU

One process times every path of every op at the tracking shapes of ``trackerzoo.ops.tune``
(B = 1, 8 and 32; DCF ops with 1, 8 and 32 filters; ``dw_xcorr`` also on channels-last
inputs), round by round in shuffled order, and prints a Markdown table (medians, speed-up
over the reference, the path ``auto`` takes under the dispatch table in use). The full
results (and the load average) go to
``benchmarks/results/<device-slug>/ops_alternatives_threads<N>_<date>.json``. It writes no
dispatch table: ``python -m trackerzoo.ops.tune`` does.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from conftest import slug  # noqa: E402  (benchmarks/ is not a package)

from trackerzoo.ops import tune  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    parser.add_argument("--ops", nargs="+", help="only these ops")
    parser.add_argument("--repeats", type=int, default=21, help="interleaved rounds per shape (default 21)")
    parser.add_argument("--budget", type=float, default=6.0, help="seconds per shape after 3 rounds (default 6)")
    parser.add_argument("--out", type=Path, help="JSON path (default under benchmarks/results/<device>/)")
    args = parser.parse_args(argv)
    import torch

    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA device is visible")
    stamp = time.strftime("%Y%m%d_%H%M%S")
    out = args.out or HERE / "results" / slug(tune.device_label(device)) / (
        f"ops_alternatives_{device.type}_threads{args.threads}_{stamp}.json"
    )
    forwarded = ["--device", args.device, "--threads", str(args.threads), "--repeats", str(args.repeats),
                 "--budget", str(args.budget), "--no-write", "--report", str(out), "--markdown"]
    if args.ops:
        forwarded += ["--ops", *args.ops]
    code = tune.main(forwarded)
    print(f"\nresults: {out}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
