"""The order in which the trainer asks a dataset for samples.

Training draws from an endless stream of sample indices; item ``i`` of a sampler
dataset is a pure function of ``(seed, i)``. The stream's position (how many indices
were consumed) is therefore all the data-loading state a checkpoint needs, and with
``torchrun`` rank ``r`` of ``W`` simply takes every ``W``-th index, so no two ranks
ever see the same sample.
"""

from __future__ import annotations

from collections.abc import Iterator

from torch.utils.data import Sampler


class IndexStream(Sampler[int]):
    """Yields ``start + rank``, ``start + rank + world_size``, ... without end."""

    def __init__(self, start: int = 0, *, rank: int = 0, world_size: int = 1) -> None:
        if start < 0:
            raise ValueError(f"start must be >= 0, got {start!r}")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank must be in [0, {world_size}), got {rank!r}")
        self.start = start
        self.rank = rank
        self.world_size = world_size

    def __iter__(self) -> Iterator[int]:
        index = self.start + self.rank
        while True:
            yield index
            index += self.world_size
