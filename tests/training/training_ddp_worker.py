"""Run under ``torchrun --nproc_per_node=2`` by the data-parallel test: trains the toy
recipe for a few steps with the Gloo backend on CPU and writes each rank's final
parameters, so the test can check that the ranks stayed in sync."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, os.path.dirname(__file__))

from training_fixtures import moving_square_dataset
from training_toy_siamese import build_toy_recipe

from trackerzoo.training import Trainer


def main(out: str) -> None:
    torch.set_num_threads(1)
    recipe = build_toy_recipe(moving_square_dataset("train", 4, seed=11, length=16),
                              moving_square_dataset("val", 2, seed=12, length=16),
                              {"steps": 4, "batch_size": 2, "val_every": 2, "val_batches": 1, "checkpoint_every": 2})
    trainer = Trainer(recipe, out, progress=False)
    assert trainer.context.world_size == 2, trainer.context
    rank = trainer.context.rank
    result = trainer.fit()
    assert result.finished
    # Parameters only: DDP syncs BatchNorm buffers from rank 0 at each forward, so after the
    # last forward each rank's running statistics hold its own batch (rank 0's are saved).
    parameters = {name: value.detach().clone() for name, value in trainer.module.named_parameters()}
    torch.save(parameters, Path(out) / f"rank{rank}.pt")


if __name__ == "__main__":
    main(sys.argv[1])
