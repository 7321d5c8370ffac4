"""Data-parallel training under ``torchrun``.

A plain ``trackerzoo train`` is one process. ``torchrun --nproc_per_node=N`` sets
``WORLD_SIZE``/``RANK``/``LOCAL_RANK``; only then is a process group created (NCCL on
GPUs, Gloo on CPU) and the model wrapped in ``DistributedDataParallel``, so the
single-process path never touches ``torch.distributed``.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import torch
import torch.distributed as dist


@dataclasses.dataclass(frozen=True)
class DistributedContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def world_size_from_env() -> int:
    value = os.environ.get("WORLD_SIZE", "1")
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"WORLD_SIZE must be an integer, got {value!r}") from None


def init_distributed(device: torch.device) -> tuple[DistributedContext, torch.device]:
    """Join the process group when ``WORLD_SIZE`` > 1; returns the context and this rank's device."""
    world_size = world_size_from_env()
    if world_size <= 1:
        return DistributedContext(), device
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return DistributedContext(rank=rank, world_size=world_size, local_rank=local_rank), device


def shutdown_distributed(context: DistributedContext) -> None:
    if context.enabled and dist.is_initialized():
        dist.destroy_process_group()


def barrier(context: DistributedContext) -> None:
    if context.enabled:
        dist.barrier()


def gather_objects(context: DistributedContext, value: Any) -> list[Any]:
    """Every rank's ``value`` (a list of one element without torchrun)."""
    if not context.enabled:
        return [value]
    gathered: list[Any] = [None] * context.world_size
    dist.all_gather_object(gathered, value)
    return gathered


def broadcast_object(context: DistributedContext, value: Any) -> Any:
    """Rank 0's ``value`` on every rank."""
    if not context.enabled:
        return value
    holder = [value]
    dist.broadcast_object_list(holder, src=0)
    return holder[0]

