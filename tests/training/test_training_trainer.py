"""The training loop: exact resumption, validation, checkpoints, CLI and recipe lookup."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import types
from pathlib import Path

import pytest
import torch
from training_fixtures import moving_square_dataset, one_torch_thread, procedural_dataset
from training_toy_siamese import build_toy_recipe

import trackerzoo.registry as registry_module
from trackerzoo.cli.main import main as cli_main
from trackerzoo.hookspecs import hookimpl
from trackerzoo.training import Trainer, build_recipe
from trackerzoo.training.checkpoint import list_checkpoints, load_checkpoint


@pytest.fixture(autouse=True)
def _one_thread():
    yield from one_torch_thread()


@pytest.fixture(scope="module")
def small_sets():
    return moving_square_dataset("train", 4, seed=11, length=16), moving_square_dataset("val", 2, seed=12, length=16)


def _tiny(small_sets, **overrides):
    settings = {"steps": 8, "batch_size": 4, "val_every": 3, "val_batches": 1, "checkpoint_every": 100,
                "optimizer": "adamw", "schedule": "cosine", "warmup_steps": 2, "grad_clip": 1.0, "dropout": 0.3}
    settings.update(overrides)
    return build_toy_recipe(*small_sets, settings)


def test_resume_continues_bit_for_bit(small_sets, tmp_path):
    straight = Trainer(_tiny(small_sets), tmp_path / "straight", progress=False)
    straight.fit()

    first = Trainer(_tiny(small_sets), tmp_path / "resumed", progress=False)
    stopped = first.fit(stop_at=4)
    assert stopped.step == 4 and not stopped.finished and stopped.model_file is None
    # Disturb every global RNG between the sessions: the checkpoint must restore them.
    torch.manual_seed(1234)
    second = Trainer(_tiny(small_sets), tmp_path / "resumed", progress=False)
    resumed = second.fit(resume=True)
    assert resumed.finished and resumed.step == 8

    straight_state = straight.module.state_dict()
    for name, value in second.module.state_dict().items():
        assert torch.equal(value, straight_state[name]), name
    assert second.optimizer.param_groups[0]["lr"] == straight.optimizer.param_groups[0]["lr"]
    # Validation ran at steps 3, 6 and 8 in both runs, with the same numbers.
    assert [record["step"] for record in resumed.validation] == [3, 6, 8]
    for mine, theirs in zip(resumed.validation, straight.validation_history, strict=True):
        assert mine["val_loss"] == pytest.approx(theirs["val_loss"], abs=1e-7)


class _TerminateAt:
    """Sends this process SIGTERM after a given step, as a job scheduler ending a session would."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_end(self, trainer, step, stats):
        if step == self.step:
            os.kill(os.getpid(), signal.SIGTERM)


def test_sigterm_checkpoints_and_the_run_resumes(small_sets, tmp_path):
    straight = Trainer(_tiny(small_sets), tmp_path / "straight", progress=False)
    straight.fit()
    interrupted = Trainer(_tiny(small_sets), tmp_path / "cut", progress=False, callbacks=[_TerminateAt(5)])
    stopped = interrupted.fit()
    assert not stopped.finished and stopped.step == 5
    assert [step for step, _ in list_checkpoints(tmp_path / "cut" / "checkpoints")] == [5]
    resumed = Trainer(_tiny(small_sets), tmp_path / "cut", progress=False)
    assert resumed.fit(resume=True).finished
    for name, value in resumed.module.state_dict().items():
        assert torch.equal(value, straight.module.state_dict()[name]), name


def test_checkpoint_contents_and_refusals(small_sets, tmp_path):
    trainer = Trainer(_tiny(small_sets, checkpoint_every=2, keep_checkpoints=2), tmp_path, progress=False)
    result = trainer.fit()
    assert [step for step, _ in list_checkpoints(tmp_path / "checkpoints")] == [6, 8]
    payload = load_checkpoint(result.last_checkpoint)
    assert payload["step"] == 8 and payload["samples_seen"] == 32
    assert set(payload["rng"][0]) == {"python", "numpy", "torch", "cuda"}
    assert (tmp_path / "model.safetensors").is_file()
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert any(r["split"] == "train" and "samples_per_s" in r for r in records)
    # A second run into the same folder is refused unless it resumes ...
    with pytest.raises(ValueError, match="--resume"):
        Trainer(_tiny(small_sets), tmp_path, progress=False).fit()
    # ... and resuming with a changed learning rate is refused, naming the setting.
    with pytest.raises(ValueError, match="lr"):
        Trainer(_tiny(small_sets, lr=0.5), tmp_path, progress=False).fit(resume=True)
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        Trainer(_tiny(small_sets), tmp_path / "empty", progress=False).fit(resume=True)


def test_amp_is_refused_on_cpu(small_sets, tmp_path):
    with pytest.raises(ValueError, match="bf16"):
        Trainer(_tiny(small_sets, amp="bf16"), tmp_path, device="cpu", progress=False)


def test_toy_siamese_learns_on_procedural_sequences(tmp_path):
    """Done-when of the training harness: a short CPU run of a toy Siamese model on the
    zoo's procedural sequences (textured shapes, clutter, look-alikes) lowers its
    validation loss, and the model localises and tracks the held-out targets better."""
    train_sets = procedural_dataset("ptrain", 12, seed=21)
    val_sets = procedural_dataset("pval", 4, seed=22)
    recipe = build_toy_recipe(train_sets, val_sets, {"steps": 150, "val_every": 150, "val_batches": 4},
                              track_validation=True)
    trainer = Trainer(recipe, tmp_path, progress=False)
    before = trainer.validate()
    result = trainer.fit()
    after = result.validation[-1]
    assert result.finished and after["step"] == 150
    assert after["val_loss"] < 0.75 * before["val_loss"]
    # Peaks start wherever the random net puts them; after training they land near the target ...
    assert after["val_center_error"] < 0.5 * before["val_center_error"]
    # ... and it tracks: success AUC on the validation sequences goes up.
    assert after["val_auc"] > before["val_auc"] + 0.2
    assert after["val_precision"] > before["val_precision"]


def test_toy_siamese_on_moving_squares_reaches_pixel_accuracy(tmp_path):
    """On the simple moving-square fixture the same run localises to about two pixels."""
    recipe = build_toy_recipe(moving_square_dataset("train", 12, seed=21, length=24),
                              moving_square_dataset("val", 4, seed=22, length=24),
                              {"steps": 100, "val_every": 100, "val_batches": 4})
    trainer = Trainer(recipe, tmp_path, progress=False)
    before = trainer.validate()
    after = trainer.fit().validation[-1]
    assert after["val_loss"] < 0.5 * before["val_loss"]
    assert after["val_center_error"] < 6.0  # 1.5 score cells


@pytest.fixture
def toy_registry(small_sets, monkeypatch):
    plugin = types.SimpleNamespace()

    @hookimpl
    def trackerzoo_register_recipes(registry):
        registry.add_recipe("toy-siamese", lambda overrides: _tiny(small_sets, **overrides), tracker="toy",
                            description="test recipe")

    plugin.trackerzoo_register_recipes = trackerzoo_register_recipes
    registry = registry_module.load_registry([(plugin, "toy-dist")], autoload=False)
    monkeypatch.setattr(registry_module, "_default_registry", registry)
    return registry


def test_recipe_lookup_and_overrides(toy_registry):
    recipe = build_recipe("toy-siamese", {"lr": "0.01"})
    assert recipe.config.lr == pytest.approx(0.01)
    with pytest.raises(KeyError, match="toy-siamese"):
        build_recipe("siamfc")


def test_cli_trains_resumes_and_lists(toy_registry, tmp_path, capsys):
    out = tmp_path / "run"
    assert cli_main(["train", "toy-siamese", "--out", str(out), "--set", "steps=4", "--device", "cpu",
                     "--no-progress"]) == 0
    assert (out / "model.safetensors").is_file()
    assert cli_main(["train", "toy-siamese", "--out", str(out), "--set", "steps=6", "--resume",
                     "--no-progress"]) == 0
    assert "6 steps" in capsys.readouterr().out
    assert cli_main(["train", "nope", "--out", str(tmp_path / "x")]) == 2
    assert "available recipes: toy-siamese" in capsys.readouterr().err
    assert cli_main(["train", "toy-siamese", "--set", "learning_rate=1", "--out", str(tmp_path / "y")]) == 2
    assert "valid settings" in capsys.readouterr().err
    assert cli_main(["train", "--list"]) == 0
    assert "toy-siamese" in capsys.readouterr().out


@pytest.mark.slow
def test_torchrun_data_parallel_on_cpu(tmp_path):
    """Two Gloo processes under torchrun: DDP keeps the replicas identical, each rank
    draws its own samples, and the checkpoint holds both ranks' RNG states."""
    worker = Path(__file__).with_name("training_ddp_worker.py")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).parent)}
    completed = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(worker),
         str(tmp_path)],
        capture_output=True, text=True, timeout=240, env=env, cwd=tmp_path,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    rank0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    rank1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    for name, value in rank0.items():
        assert torch.equal(value, rank1[name]), name
    payload = load_checkpoint(tmp_path / "checkpoints" / "step_00000004.pt")
    assert payload["world_size"] == 2 and payload["samples_seen"] == 4 * 2 * 2
    assert len(payload["rng"]) == 2
    assert not torch.equal(payload["rng"][0]["torch"], payload["rng"][1]["torch"])  # seeded per rank


@pytest.mark.cuda
def test_cuda_mixed_precision_trains_and_resumes(small_sets, tmp_path):
    recipe = _tiny(small_sets, amp="auto")
    trainer = Trainer(recipe, tmp_path, device="cuda", progress=False)
    assert trainer.amp_dtype in (torch.bfloat16, torch.float16)
    trainer.fit(stop_at=4)
    resumed = Trainer(_tiny(small_sets, amp="auto"), tmp_path, device="cuda", progress=False)
    result = resumed.fit(resume=True)
    assert result.finished and all(torch.isfinite(p).all() for p in resumed.module.parameters())
    assert next(resumed.module.parameters()).device.type == "cuda"
