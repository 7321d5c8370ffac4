"""``--set key=value`` overrides and the learning-rate schedules."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from trackerzoo.training import LearningRateSchedule, TrainConfig, apply_overrides, parse_assignments
from trackerzoo.training.schedules import build_optimizer, build_scheduler


@dataclasses.dataclass
class ExampleSettings(TrainConfig):
    search_size: int = 255
    mask_threshold: float | None = None
    use_masks: bool = False


def test_text_overrides_are_converted_to_field_types():
    overrides = parse_assignments(
        ["lr=3e-4", "steps=20", "lr_milestones=5,15", "grad_clip=none", "use_masks=yes", "mask_threshold=0.84",
         "optimizer=sgd", "betas=0.8,0.99"]
    )
    config = apply_overrides(ExampleSettings(grad_clip=1.0), overrides)
    assert config.lr == pytest.approx(3e-4)
    assert config.steps == 20 and isinstance(config.steps, int)
    assert config.lr_milestones == (5, 15)
    assert config.grad_clip is None
    assert config.use_masks is True
    assert config.mask_threshold == pytest.approx(0.84)
    assert config.optimizer == "sgd"
    assert config.betas == (0.8, 0.99)
    assert ExampleSettings().lr == pytest.approx(1e-3)  # the original is untouched


def test_unknown_key_lists_the_valid_ones():
    with pytest.raises(ValueError, match="'learning_rate'") as info:
        apply_overrides(ExampleSettings(), {"learning_rate": "0.1"})
    assert "search_size" in str(info.value) and "lr" in str(info.value)


@pytest.mark.parametrize(
    ("key", "value"),
    [("steps", "ten"), ("steps", "2.5"), ("lr", "fast"), ("use_masks", "maybe"), ("optimizer", "rmsprop"),
     ("batch_size", "0"), ("amp", "int8")],
)
def test_bad_values_name_the_value(key, value):
    with pytest.raises(ValueError, match=value):
        apply_overrides(ExampleSettings(), {key: value})


def test_assignment_without_equals_is_rejected():
    with pytest.raises(ValueError, match="'lr'"):
        parse_assignments(["lr"])


def test_warmup_and_step_schedule():
    schedule = LearningRateSchedule(kind="step", total_steps=100, milestones=(30, 60), gamma=0.2,
                                    warmup_steps=10, warmup_start_factor=0.1)
    assert schedule(0) == pytest.approx(0.1)
    assert schedule(5) == pytest.approx(0.55)  # halfway between 0.1 and 1
    assert schedule(10) == pytest.approx(1.0)
    assert schedule(29) == pytest.approx(1.0)
    assert schedule(30) == pytest.approx(0.2)
    assert schedule(60) == pytest.approx(0.04)


def test_cosine_exponential_and_exponential_warmup():
    cosine = LearningRateSchedule(kind="cosine", total_steps=100)
    assert cosine(0) == pytest.approx(1.0)
    assert cosine(50) == pytest.approx(0.5)
    assert cosine(100) == pytest.approx(0.0, abs=1e-12)
    decay = LearningRateSchedule(kind="exponential", total_steps=100, final_factor=0.1)
    assert decay(50) == pytest.approx(math.sqrt(0.1))
    # ARN: warm-up exponentially from 1e-3 to 1e-2 (factor 0.1 -> 1)
    warm = LearningRateSchedule(warmup_steps=10, warmup_start_factor=0.1, warmup_mode="exponential")
    assert warm(5) == pytest.approx(0.1**0.5)


def test_scheduler_drives_the_optimizer_and_optimizer_choice():
    config = apply_overrides(TrainConfig(), {"lr": "0.5", "schedule": "step", "lr_milestones": "2",
                                             "lr_gamma": "0.1", "optimizer": "sgd", "momentum": "0.5"})
    parameter = torch.nn.Parameter(torch.zeros(1))
    optimizer = build_optimizer([parameter], config)
    assert isinstance(optimizer, torch.optim.SGD) and optimizer.param_groups[0]["momentum"] == 0.5
    scheduler = build_scheduler(optimizer, config)
    rates = []
    for _ in range(3):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert rates == pytest.approx([0.5, 0.5, 0.05])
    adamw = build_optimizer([parameter], TrainConfig(weight_decay=0.01))
    assert isinstance(adamw, torch.optim.AdamW) and adamw.param_groups[0]["weight_decay"] == 0.01
