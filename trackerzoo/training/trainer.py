"""The generic training loop every recipe runs in.

One loop for all trackers: optimiser and schedule from the recipe's config, autocast
on CUDA, gradient clipping, periodic validation, periodic (and time-based) checkpoints
that resume bit-for-bit, DistributedDataParallel under ``torchrun``, and a progress
bar. A run's folder holds ``config.json``, ``metrics.jsonl`` (one JSON object per log
or validation), ``checkpoints/step_XXXXXXXX.pt`` and, at the end, ``model.safetensors``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import signal
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import safetensors.torch
import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from trackerzoo.device import resolve_device
from trackerzoo.training.checkpoint import (
    capture_rng_state,
    checkpoint_path,
    latest_checkpoint,
    load_checkpoint,
    prune_checkpoints,
    restore_rng_state,
    save_checkpoint,
    seed_everything,
)
from trackerzoo.training.config import config_to_dict
from trackerzoo.training.distributed import (
    barrier,
    broadcast_object,
    gather_objects,
    init_distributed,
    shutdown_distributed,
)
from trackerzoo.training.recipe import Recipe
from trackerzoo.training.samplers.stream import IndexStream
from trackerzoo.training.schedules import build_optimizer, build_scheduler, schedule_from_config

# Settings that may change when a run is resumed: they do not alter what is computed
# up to the step where the run stopped (``steps`` extends or shortens the run).
RESUMABLE_SETTINGS = frozenset(
    {"steps", "val_every", "val_batches", "checkpoint_every", "checkpoint_minutes", "keep_checkpoints",
     "log_every", "num_workers"}
)


def saved_run_settings(out_dir: str | os.PathLike, recipe_name: str) -> dict[str, Any]:
    """The settings a run in ``out_dir`` was started with (its ``config.json``).

    Resuming needs the same settings; ``trackerzoo train --resume`` starts from these so
    that only the settings to change (e.g. ``steps``) have to be given again.
    """
    path = Path(out_dir) / "config.json"
    if not path.is_file():
        return {}
    saved = json.loads(path.read_text(encoding="utf-8"))
    if saved.get("recipe") != recipe_name:
        raise ValueError(f"{os.fspath(out_dir)!r} holds a run of recipe {saved.get('recipe')!r}, "
                         f"not {recipe_name!r}")
    return {key: value for key, value in saved.items() if key != "recipe"}


class Callback(Protocol):
    """Hooks called on the main process; implement any subset."""

    def on_step_end(self, trainer: Trainer, step: int, stats: Mapping[str, float]) -> None: ...

    def on_validation_end(self, trainer: Trainer, step: int, metrics: Mapping[str, float]) -> None: ...


@dataclasses.dataclass
class TrainResult:
    step: int
    finished: bool
    validation: list[dict[str, float]]
    last_checkpoint: Path | None
    model_file: Path | None


def move_to_device(batch: Any, device: torch.device) -> Any:
    """Tensors anywhere inside dicts/lists/tuples moved to ``device``."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, Mapping):
        return {key: move_to_device(value, device) for key, value in batch.items()}
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):
        return type(batch)(*(move_to_device(value, device) for value in batch))
    if isinstance(batch, (list, tuple)):
        return type(batch)(move_to_device(value, device) for value in batch)
    return batch


def resolve_amp_dtype(amp: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for ``amp`` on ``device``: mixed precision is a CUDA-only feature here."""
    if amp == "off":
        return None
    if device.type != "cuda":
        if amp == "auto":
            return None
        raise ValueError(f"amp={amp!r} needs a CUDA device (device is {device}); use amp=auto or amp=off")
    if amp == "fp16":
        return torch.float16
    if amp == "bf16":
        if not torch.cuda.is_bf16_supported():
            raise ValueError("amp='bf16' is not supported by this GPU; use amp=fp16")
        return torch.bfloat16
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def _split_loss(result: Any) -> tuple[torch.Tensor, dict[str, float]]:
    if isinstance(result, tuple):
        loss, extras = result
        return loss, {key: float(value) for key, value in dict(extras).items()}
    return result, {}


class ValidationCallback:
    """Mean loss over the recipe's held-out set, plus the recipe's tracking metric.

    The held-out items are always the same (indices ``0 .. val_batches * batch_size``),
    so the numbers of different steps and of resumed runs are comparable.
    """

    def __init__(self, recipe: Recipe) -> None:
        self.recipe = recipe

    def __call__(self, trainer: Trainer) -> dict[str, float]:
        recipe, config = self.recipe, self.recipe.config
        model = trainer.module
        was_training = model.training
        model.eval()
        metrics: dict[str, float] = {}
        try:
            if recipe.val_data is not None and config.val_batches > 0:
                count = min(len(recipe.val_data), config.val_batches * config.batch_size)  # type: ignore[arg-type]
                loader = DataLoader(
                    torch.utils.data.Subset(recipe.val_data, range(count)),
                    batch_size=config.batch_size,
                    shuffle=False,
                    num_workers=config.num_workers,
                    collate_fn=recipe.collate_fn,
                    generator=torch.Generator().manual_seed(config.seed),
                )
                total, samples = 0.0, 0
                extra_totals: dict[str, float] = {}
                with torch.no_grad():
                    for batch in loader:
                        batch = move_to_device(batch, trainer.device)
                        size = _batch_size(batch)
                        with trainer.autocast():
                            loss, extras = _split_loss(recipe.compute_loss(model, batch))
                        total += float(loss) * size
                        samples += size
                        for key, value in extras.items():
                            extra_totals[key] = extra_totals.get(key, 0.0) + value * size
                if samples:
                    metrics["val_loss"] = total / samples
                    metrics.update({f"val_{key}": value / samples for key, value in extra_totals.items()})
            if recipe.evaluate is not None:
                with torch.no_grad():
                    metrics.update({key: float(value) for key, value in recipe.evaluate(model, trainer.device).items()})
        finally:
            model.train(was_training)
        return metrics


def _batch_size(batch: Any) -> int:
    if isinstance(batch, torch.Tensor):
        return int(batch.shape[0])
    if isinstance(batch, Mapping):
        return _batch_size(next(iter(batch.values())))
    if isinstance(batch, (list, tuple)) and batch:
        return _batch_size(batch[0])
    return 1


class Trainer:
    """Runs one recipe into one output folder."""

    def __init__(
        self,
        recipe: Recipe,
        out_dir: str | os.PathLike,
        *,
        device: str | torch.device = "auto",
        progress: bool = True,
        callbacks: Sequence[Any] = (),
    ) -> None:
        recipe.config.validate()
        self.recipe = recipe
        self.config = recipe.config
        self.out_dir = Path(out_dir)
        self.checkpoint_dir = self.out_dir / "checkpoints"
        self.progress = progress
        self.callbacks = list(callbacks)
        self.validator = ValidationCallback(recipe)
        self.context, self.device = init_distributed(resolve_device(device))
        self.amp_dtype = resolve_amp_dtype(self.config.amp, self.device)
        self.step = 0
        self.samples_seen = 0
        self.validation_history: list[dict[str, float]] = []
        self._stop_requested = False

        seed_everything(self.config.seed + self.context.rank)
        self.module: nn.Module = recipe.build_model().to(self.device)
        groups = recipe.parameter_groups(self.module) if recipe.parameter_groups else self.module.parameters()
        self.optimizer = build_optimizer(groups, self.config)
        self.scheduler = build_scheduler(self.optimizer, self.config)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp_dtype == torch.float16)
        self.model: nn.Module = self.module
        if self.context.enabled:
            device_ids = [self.device.index] if self.device.type == "cuda" else None
            self.model = nn.parallel.DistributedDataParallel(self.module, device_ids=device_ids)

    # ------------------------------------------------------------------ helpers
    def autocast(self) -> contextlib.AbstractContextManager:
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type="cuda", dtype=self.amp_dtype)

    @property
    def is_main(self) -> bool:
        return self.context.is_main

    def _log(self, record: dict[str, Any]) -> None:
        if not self.is_main:
            return
        self.out_dir.mkdir(parents=True, exist_ok=True)
        with open(self.out_dir / "metrics.jsonl", "a", encoding="utf-8") as stream:
            stream.write(json.dumps(record) + "\n")

    def _train_loader(self) -> Iterator[Any]:
        stream = IndexStream(self.samples_seen, rank=self.context.rank, world_size=self.context.world_size)
        loader = DataLoader(
            self.recipe.train_data,
            batch_size=self.config.batch_size,
            sampler=stream,
            num_workers=self.config.num_workers,
            collate_fn=self.recipe.collate_fn,
            pin_memory=self.device.type == "cuda",
            drop_last=True,
            # A private generator: creating loader iterators must not draw from the
            # global torch RNG, or validation and resumption would shift dropout masks.
            generator=torch.Generator().manual_seed(self.config.seed),
        )
        return iter(loader)

    # ------------------------------------------------------------- checkpoints
    def state_payload(self) -> dict[str, Any]:
        return {
            "recipe": self.recipe.name,
            "step": self.step,
            "samples_seen": self.samples_seen,
            "world_size": self.context.world_size,
            "config": config_to_dict(self.config),
            "model": self.module.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "validation": self.validation_history,
        }

    def save(self) -> Path | None:
        """Checkpoint the run (all ranks must call it: RNG states are gathered)."""
        rng_states = gather_objects(self.context, capture_rng_state())
        path = None
        if self.is_main:
            payload = self.state_payload()
            payload["rng"] = rng_states
            path = save_checkpoint(checkpoint_path(self.checkpoint_dir, self.step), payload)
            prune_checkpoints(self.checkpoint_dir, self.config.keep_checkpoints)
        barrier(self.context)
        self._last_save_time = time.monotonic()
        return path

    def load(self, path: str | os.PathLike) -> None:
        payload = load_checkpoint(path, map_location="cpu")
        if payload["recipe"] != self.recipe.name:
            raise ValueError(f"checkpoint {os.fspath(path)!r} is from recipe {payload['recipe']!r}, "
                             f"not {self.recipe.name!r}")
        saved, current = payload["config"], config_to_dict(self.config)
        changed = sorted(key for key in set(saved) | set(current)
                         if key not in RESUMABLE_SETTINGS and saved.get(key) != current.get(key))
        if changed:
            details = ", ".join(f"{key}: {saved.get(key)!r} -> {current.get(key)!r}" for key in changed)
            raise ValueError(f"cannot resume {os.fspath(path)!r} with different settings ({details}); "
                             "only these may change: " + ", ".join(sorted(RESUMABLE_SETTINGS)))
        self.module.load_state_dict(payload["model"])
        self.optimizer.load_state_dict(payload["optimizer"])
        self.scheduler.load_state_dict(payload["scheduler"])
        # The schedule follows the current config (a resumed run may be given more steps).
        self.scheduler.lr_lambdas = [schedule_from_config(self.config) for _ in self.optimizer.param_groups]
        if payload["scaler"] and self.scaler.is_enabled():
            self.scaler.load_state_dict(payload["scaler"])
        self.step = int(payload["step"])
        self.samples_seen = int(payload["samples_seen"])
        self.validation_history = list(payload.get("validation", []))
        rng_states = payload["rng"]
        if len(rng_states) == self.context.world_size:
            restore_rng_state(rng_states[self.context.rank])
        else:  # a different number of processes: continue with fresh, distinct seeds
            seed_everything(self.config.seed + 7919 * self.step + self.context.rank)

    # -------------------------------------------------------------------- loop
    def _request_stop(self, signum: int, frame: Any) -> None:
        self._stop_requested = True

    def fit(self, *, resume: bool = False, stop_at: int | None = None) -> TrainResult:
        """Train to ``config.steps`` (or until ``stop_at``, checkpointing there).

        ``resume=True`` continues from the newest checkpoint in the output folder; without
        it, a folder that already holds checkpoints is refused rather than overwritten.
        SIGTERM makes the loop checkpoint and return after the current step.
        """
        self._stop_requested = False
        existing = latest_checkpoint(self.checkpoint_dir)
        if resume:
            if existing is None:
                raise FileNotFoundError(f"nothing to resume: no checkpoint in {os.fspath(self.checkpoint_dir)!r}")
            self.load(existing)
        elif existing is not None:
            raise ValueError(f"{os.fspath(self.out_dir)!r} already holds checkpoints of a run; resume it "
                             "(--resume) or choose another output folder (--out)")
        if self.is_main:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            (self.out_dir / "config.json").write_text(
                json.dumps({"recipe": self.recipe.name, **config_to_dict(self.config)}, indent=2) + "\n"
            )
        end = self.config.steps if stop_at is None else min(stop_at, self.config.steps)
        previous_handler = None
        if threading.current_thread() is threading.main_thread():
            previous_handler = signal.signal(signal.SIGTERM, self._request_stop)
        try:
            self._run(end)
        finally:
            if previous_handler is not None:
                signal.signal(signal.SIGTERM, previous_handler)
        last = latest_checkpoint(self.checkpoint_dir) if self.is_main else None
        finished = self.step >= self.config.steps
        model_file = self._export() if finished and self.is_main else None
        shutdown_distributed(self.context)
        return TrainResult(self.step, finished, list(self.validation_history), last, model_file)

    def _run(self, end: int) -> None:
        config = self.config
        self.model.train()
        batches = self._train_loader()
        samples_per_step = config.batch_size * self.context.world_size
        bar = tqdm(total=config.steps, initial=self.step, desc=self.recipe.name, dynamic_ncols=True,
                   disable=not (self.progress and self.is_main))
        self._last_save_time = time.monotonic()
        smoothed_loss: float | None = None
        window_start, window_steps = time.monotonic(), 0
        saved_at = -1
        try:
            while self.step < end:
                batch = move_to_device(next(batches), self.device)
                self.optimizer.zero_grad(set_to_none=True)
                with self.autocast():
                    loss, extras = _split_loss(self.recipe.compute_loss(self.model, batch))
                if not torch.isfinite(loss.detach()):
                    raise FloatingPointError(
                        f"loss became {float(loss)} at step {self.step + 1}; the last checkpoint is in "
                        f"{os.fspath(self.checkpoint_dir)!r} (lower lr or set grad_clip)"
                    )
                self.scaler.scale(loss).backward()
                grad_norm = None
                if config.grad_clip is not None:
                    self.scaler.unscale_(self.optimizer)
                    grad_norm = float(nn.utils.clip_grad_norm_(self.module.parameters(), config.grad_clip))
                self.scaler.step(self.optimizer)
                self.scaler.update()
                self.scheduler.step()
                self.step += 1
                self.samples_seen += samples_per_step
                window_steps += 1

                value = float(loss.detach())
                smoothed_loss = value if smoothed_loss is None else 0.9 * smoothed_loss + 0.1 * value
                stats = {"loss": value, "lr": self.optimizer.param_groups[0]["lr"], **extras}
                if grad_norm is not None:
                    stats["grad_norm"] = grad_norm
                bar.update(1)
                if self.step % config.log_every == 0 or self.step == end:
                    elapsed = max(time.monotonic() - window_start, 1e-9)
                    throughput = window_steps * samples_per_step / elapsed
                    window_start, window_steps = time.monotonic(), 0
                    bar.set_postfix(loss=f"{smoothed_loss:.4f}", lr=f"{stats['lr']:.2e}",
                                    samples_s=f"{throughput:.1f}")
                    self._log({"step": self.step, "split": "train", "samples_per_s": throughput, **stats})
                if self.is_main:
                    for callback in self.callbacks:
                        hook = getattr(callback, "on_step_end", None)
                        if hook is not None:
                            hook(self, self.step, stats)

                paused = False
                if self.step % config.val_every == 0 or self.step == config.steps:
                    self.validate()
                    paused = True
                save, stop = self._checkpoint_decision(end)
                if save:
                    self.save()
                    saved_at = self.step
                    paused = True
                if paused:  # throughput reports training speed, not validation or saving
                    window_start, window_steps = time.monotonic(), 0
                if stop:
                    break
        except KeyboardInterrupt:
            if not self.context.enabled and saved_at != self.step:
                self.save()
            raise
        finally:
            bar.close()
        if saved_at != self.step:
            self.save()

    def _checkpoint_decision(self, end: int) -> tuple[bool, bool]:
        """``(save, stop)`` after the current step, identical on every rank.

        Periodic saves are decided by the step count alone. Time-based saves and stops
        (SIGTERM) depend on the clock and on signal timing, which differ between ranks,
        so under torchrun rank 0 decides them every ``log_every`` steps and broadcasts.
        """
        config = self.config
        periodic = self.step % config.checkpoint_every == 0 or self.step == end
        if self.context.enabled and self.step % config.log_every != 0:
            return periodic, False
        due = config.checkpoint_minutes is not None and (
            time.monotonic() - self._last_save_time >= 60.0 * config.checkpoint_minutes
        )
        stop = self._stop_requested
        save, stop = broadcast_object(self.context, (periodic or due or stop, stop))
        return bool(save), bool(stop)

    def validate(self) -> dict[str, float]:
        """Run the validation callback now (rank 0 computes; the others wait)."""
        metrics: dict[str, float] = {}
        if self.is_main:
            metrics = self.validator(self)
            record = {"step": self.step, **metrics}
            self.validation_history.append(record)
            self._log({"split": "val", **record})
            if metrics and self.progress:
                tqdm.write(f"[{self.recipe.name}] step {self.step}: "
                           + ", ".join(f"{key}={value:.4f}" for key, value in metrics.items()))
            for callback in self.callbacks:
                hook = getattr(callback, "on_validation_end", None)
                if hook is not None:
                    hook(self, self.step, metrics)
        barrier(self.context)
        return metrics

    def _export(self) -> Path:
        """The trained weights as ``model.safetensors`` (float32, training output)."""
        path = self.out_dir / "model.safetensors"
        tensors = {key: value.detach().cpu().clone().contiguous() for key, value in self.module.state_dict().items()}
        metadata = {"recipe": self.recipe.name, "step": str(self.step)}
        last = self.validation_history[-1] if self.validation_history else {}
        metadata.update({key: repr(value) for key, value in last.items() if isinstance(value, float)
                         and math.isfinite(value)})
        safetensors.torch.save_file(tensors, os.fspath(path), metadata=metadata)
        return path
