"""Learning-rate schedules as a multiplier of the base rate per optimiser step.

The papers describe their schedules in epochs (RTS: x0.2 at epochs 25/115/160; IBFP:
x0.2 every 15 epochs after a 5-epoch warm-up; ARN: exponential warm-up then
exponential decay). The trainer counts optimiser steps, so recipes convert epochs to
steps and the schedule is one picklable callable for ``torch.optim.lr_scheduler.LambdaLR``.
"""

from __future__ import annotations

import bisect
import dataclasses
import math

import torch

from trackerzoo.training.config import SCHEDULES, WARMUP_MODES, TrainConfig


@dataclasses.dataclass(frozen=True)
class LearningRateSchedule:
    """``factor(step)``: warm-up from ``warmup_start_factor`` to 1, then the decay ``kind``.

    The decay part counts steps from the start of training (milestones are absolute
    step numbers), and cosine/exponential decay run from the end of warm-up to
    ``total_steps`` where they reach ``final_factor``.
    """

    kind: str = "constant"
    total_steps: int = 1
    milestones: tuple[int, ...] = ()
    gamma: float = 0.1
    final_factor: float = 0.0
    warmup_steps: int = 0
    warmup_start_factor: float = 0.1
    warmup_mode: str = "linear"

    def __post_init__(self) -> None:
        if self.kind not in SCHEDULES:
            raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}; got {self.kind!r}")
        if self.warmup_mode not in WARMUP_MODES:
            raise ValueError(f"warmup_mode must be one of {', '.join(WARMUP_MODES)}; got {self.warmup_mode!r}")
        if self.kind == "exponential" and self.final_factor <= 0:
            raise ValueError(f"exponential decay needs final_factor > 0, got {self.final_factor!r}")

    def __call__(self, step: int) -> float:
        return self.warmup(step) * self.decay(step)

    def warmup(self, step: int) -> float:
        if self.warmup_steps <= 0 or step >= self.warmup_steps:
            return 1.0
        progress = step / self.warmup_steps
        if self.warmup_mode == "exponential":
            # Geometric interpolation, as ARN's 1e-3 -> 1e-2 warm-up.
            return self.warmup_start_factor ** (1.0 - progress)
        return self.warmup_start_factor + (1.0 - self.warmup_start_factor) * progress

    def decay(self, step: int) -> float:
        if self.kind == "constant":
            return 1.0
        if self.kind == "step":
            return self.gamma ** bisect.bisect_right(self.milestones, step)
        span = max(1, self.total_steps - self.warmup_steps)
        progress = min(1.0, max(0.0, (step - self.warmup_steps) / span))
        if self.kind == "cosine":
            return self.final_factor + (1.0 - self.final_factor) * 0.5 * (1.0 + math.cos(math.pi * progress))
        return self.final_factor**progress  # exponential


def schedule_from_config(config: TrainConfig) -> LearningRateSchedule:
    return LearningRateSchedule(
        kind=config.schedule,
        total_steps=config.steps,
        milestones=tuple(config.lr_milestones),
        gamma=config.lr_gamma,
        final_factor=config.final_lr_factor,
        warmup_steps=config.warmup_steps,
        warmup_start_factor=config.warmup_start_factor,
        warmup_mode=config.warmup_mode,
    )


def build_optimizer(parameters, config: TrainConfig) -> torch.optim.Optimizer:
    """AdamW, Adam or SGD (with momentum) from ``config``.

    ``parameters`` may be parameter groups (dicts with their own ``lr`` scale, e.g. a
    lower rate for a pretrained backbone): a group's ``lr_scale`` multiplies the base rate.
    """
    groups = list(parameters)
    if groups and isinstance(groups[0], dict):
        groups = [
            {**{k: v for k, v in group.items() if k != "lr_scale"}, "lr": config.lr * group.get("lr_scale", 1.0)}
            for group in groups
        ]
    if config.optimizer == "adamw":
        betas = _betas(config)
        return torch.optim.AdamW(groups, lr=config.lr, betas=betas, weight_decay=config.weight_decay)
    if config.optimizer == "adam":
        betas = _betas(config)
        return torch.optim.Adam(groups, lr=config.lr, betas=betas, weight_decay=config.weight_decay)
    if config.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
    raise ValueError(f"optimizer must be adamw, adam or sgd; got {config.optimizer!r}")


def _betas(config: TrainConfig) -> tuple[float, float]:
    if len(config.betas) != 2:
        raise ValueError(f"betas must be two numbers, got {config.betas!r}")
    return (float(config.betas[0]), float(config.betas[1]))


def build_scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig) -> torch.optim.lr_scheduler.LambdaLR:
    return torch.optim.lr_scheduler.LambdaLR(optimizer, schedule_from_config(config))
