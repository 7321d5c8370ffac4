"""safetensors round trips, strict key checks, checksums and the manifest."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch
from torch import nn

from trackerzoo.errors import WeightsNotFoundError
from trackerzoo.weights import (
    ChecksumMismatchError,
    ManifestEntry,
    load_into,
    load_state_dict,
    read_manifest,
    read_metadata,
    save_safetensors,
    sha256_file,
    upsert_entry,
    weights_dir,
    weights_for,
    write_manifest,
)


def small_net() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Conv2d(4, 2, 1))


@pytest.fixture
def weights_folder(tmp_path, monkeypatch):
    """An empty weights folder in place of the repository's."""
    folder = tmp_path / "weights"
    folder.mkdir()
    monkeypatch.setenv("TRACKERZOO_WEIGHTS_DIR", str(folder))
    return folder


def _entry(name: str, file: str, sha256: str, variant: str | None = None) -> ManifestEntry:
    """An entry of tracker ``toy``; its variant is its name unless given (one file per variant)."""
    return ManifestEntry(
        name=name, file=file, sha256=sha256, parameter_count=10, tracker="toy", variant=variant or name,
        backbone="resnet18", data="synthetic", steps=5, metrics={"auc": 0.5}, licence="Apache-2.0",
    )  # fmt: skip


def test_fp16_round_trip_casts_back_to_the_module_dtype(tmp_path):
    net = small_net()
    with torch.no_grad():
        net[1].running_mean.uniform_(-1, 1)
        net[1].num_batches_tracked.fill_(7)
    path = tmp_path / "net.safetensors"
    digest = save_safetensors(net.state_dict(), path, metadata={"note": "toy"})
    assert digest == sha256_file(path)
    stored = load_state_dict(path)
    assert stored["0.weight"].dtype == torch.float16
    assert stored["1.num_batches_tracked"].dtype == torch.int64 and int(stored["1.num_batches_tracked"]) == 7
    assert read_metadata(path) == {"note": "toy"}

    restored = load_into(small_net(), path)
    for key, value in net.state_dict().items():
        assert restored.state_dict()[key].dtype == value.dtype
        assert torch.allclose(restored.state_dict()[key].float(), value.float(), rtol=1e-3, atol=1e-3)
    double = load_into(small_net().double(), path)
    assert double[0].weight.dtype == torch.float64


def test_fp32_storage_is_exact_and_fp16_overflow_is_kept_in_fp32(tmp_path):
    tensors = {"small": torch.randn(5), "huge": torch.tensor([1e6, 1.0])}
    save_safetensors(tensors, tmp_path / "a.safetensors", fp16=False)
    exact = load_state_dict(tmp_path / "a.safetensors")
    assert torch.equal(exact["small"], tensors["small"])
    save_safetensors(tensors, tmp_path / "b.safetensors")
    half = load_state_dict(tmp_path / "b.safetensors")
    assert half["small"].dtype == torch.float16
    assert half["huge"].dtype == torch.float32 and float(half["huge"][0]) == 1e6


def test_shared_and_non_contiguous_tensors_can_be_saved(tmp_path):
    base = torch.arange(12.0).view(3, 4)
    save_safetensors({"a": base, "b": base.t(), "c": base[1]}, tmp_path / "s.safetensors", fp16=False)
    loaded = load_state_dict(tmp_path / "s.safetensors")
    assert torch.equal(loaded["b"], base.t()) and torch.equal(loaded["c"], base[1])


def test_strict_loading_lists_missing_unexpected_and_misshapen_keys(tmp_path):
    state = small_net().state_dict()
    del state["3.bias"]
    state["extra.weight"] = torch.zeros(1)
    state["0.weight"] = torch.zeros(4, 3, 5, 5)
    save_safetensors(state, tmp_path / "bad.safetensors")
    with pytest.raises(ValueError) as error:
        load_into(small_net(), tmp_path / "bad.safetensors")
    message = str(error.value)
    assert "missing keys (1): ['3.bias']" in message
    assert "unexpected keys (1): ['extra.weight']" in message
    assert "0.weight: file (4, 3, 5, 5) vs module (4, 3, 3, 3)" in message


def test_missing_batchnorm_counters_are_tolerated(tmp_path):
    """Checkpoints from torch < 0.4.1 have no num_batches_tracked; nothing else may be absent."""
    state = {k: v for k, v in small_net().state_dict().items() if not k.endswith("num_batches_tracked")}
    save_safetensors(state, tmp_path / "old.safetensors")
    net = load_into(small_net(), tmp_path / "old.safetensors")
    assert torch.allclose(net[0].weight, state["0.weight"].half().float())


def test_manifest_names_are_resolved_and_checksums_verified(weights_folder):
    path = weights_folder / "toy.safetensors"
    digest = save_safetensors(small_net().state_dict(), path)
    upsert_entry(_entry("toy_default", "toy.safetensors", digest))
    assert weights_dir() == weights_folder
    assert set(load_state_dict("toy_default")) == set(small_net().state_dict())

    path.write_bytes(path.read_bytes()[:-1] + b"\x01")  # flip the last byte
    for source in ("toy_default", path):  # by name and by a path the manifest lists
        with pytest.raises(ChecksumMismatchError, match="checksum mismatch for weights 'toy_default'"):
            load_state_dict(source)
    assert issubclass(ChecksumMismatchError, ValueError)


def test_missing_files_say_how_to_obtain_them(weights_folder):
    upsert_entry(_entry("toy_default", "toy.safetensors", "0" * 64))
    with pytest.raises(WeightsNotFoundError, match="To obtain them: train it with `trackerzoo train`"):
        load_state_dict("toy_default")
    with pytest.raises(WeightsNotFoundError, match="known names: toy_default"):
        load_state_dict("no_such_weights")


def test_manifest_round_trip_and_validation(tmp_path):
    path = tmp_path / "manifest.json"
    entries = [_entry("b", "b.safetensors", "a" * 64), _entry("a", "a.safetensors", "b" * 64)]
    write_manifest(entries, path)
    assert [e.name for e in read_manifest(path)] == ["a", "b"]
    assert read_manifest(path)[1] == entries[0]
    upsert_entry(_entry("a", "a2.safetensors", "c" * 64), path)
    assert {e.name: e.file for e in read_manifest(path)} == {"a": "a2.safetensors", "b": "b.safetensors"}

    raw = json.loads(path.read_text())
    raw[0]["licnce"] = "typo"
    path.write_text(json.dumps(raw))
    with pytest.raises(ValueError, match="licnce"):
        read_manifest(path)
    path.write_text(json.dumps([dict(raw[1], sha256="xyz")]))
    with pytest.raises(ValueError, match="xyz"):
        read_manifest(path)
    with pytest.raises(ValueError, match=r"\['b'\]"):
        write_manifest([entries[0], entries[0]], path)


def test_weights_for_finds_the_file_serving_a_tracker_variant(tmp_path):
    path = tmp_path / "manifest.json"
    backbone = dataclasses.replace(_entry("imagenet", "i.safetensors", "c" * 64), tracker=None, variant=None)
    write_manifest([_entry("toy_small", "s.safetensors", "a" * 64, variant="small"),
                    _entry("toy_large", "l.safetensors", "b" * 64, variant="large"), backbone], path)
    assert weights_for("toy", "small", path).file == "s.safetensors"
    assert weights_for("toy", "large", path).name == "toy_large"
    assert weights_for("toy", "tiny", path) is None
    assert weights_for("other", "small", path) is None
    assert weights_for("imagenet", "small", path) is None  # entries without a tracker serve none


def test_one_file_per_tracker_variant(tmp_path):
    path = tmp_path / "manifest.json"
    twins = [_entry("toy_v1", "1.safetensors", "a" * 64, variant="base"),
             _entry("toy_v2", "2.safetensors", "b" * 64, variant="base")]
    with pytest.raises(ValueError, match=r"'toy_v1' and 'toy_v2' both serve tracker 'toy' variant 'base'"):
        write_manifest(twins, path)
    path.write_text(json.dumps([entry.to_dict() for entry in twins]))
    with pytest.raises(ValueError, match=r"both serve tracker 'toy' variant 'base'"):
        read_manifest(path)


def test_shipped_weights_are_found_through_the_manifest():
    assert weights_for("cract", "mobilenetv2").file == "cract_mobilenetv2.safetensors"
    assert weights_for("cract", "r18") is None


def test_shipped_manifest_entries_exist_and_match_their_checksums():
    entries = read_manifest()
    assert "mobilenetv2_imagenet" in {entry.name for entry in entries}
    for entry in entries:
        path = weights_dir() / entry.file
        assert path.is_file(), entry.name
        assert sha256_file(path) == entry.sha256, entry.name
        tensors = load_state_dict(entry.name)
        parameters = sum(t.numel() for k, t in tensors.items() if not k.endswith(("running_mean", "running_var",
                                                                                 "num_batches_tracked")))  # fmt: skip
        assert parameters == entry.parameter_count, entry.name
        assert entry.licence and entry.data and entry.source


def test_save_rejects_non_tensors():
    with pytest.raises(ValueError, match="'x'"):
        save_safetensors({"x": [1, 2]}, "unused.safetensors")


def test_installed_wheel_location_is_found_when_there_is_no_checkout(tmp_path, monkeypatch):
    """A wheel installs weights/ into <prefix>/share/trackerzoo/weights (pyproject data-files)."""
    import sys

    from trackerzoo.weights import manifest

    monkeypatch.delenv("TRACKERZOO_WEIGHTS_DIR", raising=False)
    site_packages = tmp_path / "site-packages"
    monkeypatch.setattr(manifest, "__file__", str(site_packages / "trackerzoo" / "weights" / "manifest.py"))
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "env"))
    installed = tmp_path / "env" / "share" / "trackerzoo" / "weights"
    write_manifest([], installed / "manifest.json")
    assert weights_dir() == installed


def test_build_tracker_network_fills_a_plugins_network_by_the_shared_rule(tmp_path):
    """weights=None: pretrained backbone when present; a file: strict load; 'default' without an entry: the hint."""
    import pytest
    import torch
    from torch import nn

    from trackerzoo.errors import WeightsNotFoundError
    from trackerzoo.weights import build_tracker_network, save_safetensors

    calls = []

    def make(pretrained: bool) -> nn.Module:
        calls.append(pretrained)
        if pretrained:
            raise WeightsNotFoundError("no backbone weights here")
        return nn.Linear(2, 3)

    built = build_tracker_network(make, tracker="toy", variant="v", weights=None, hint="train it",
                                  generator=torch.Generator().manual_seed(0))
    again = build_tracker_network(make, tracker="toy", variant="v", weights=None, hint="train it",
                                  generator=torch.Generator().manual_seed(0))
    assert calls == [True, False, True, False] and torch.equal(built.weight, again.weight)
    path = tmp_path / "toy.safetensors"
    save_safetensors(built.state_dict(), path, fp16=False)
    loaded = build_tracker_network(make, tracker="toy", variant="v", weights=str(path), hint="train it")
    assert torch.equal(loaded.weight, built.weight)
    with pytest.raises(WeightsNotFoundError, match="train it"):
        build_tracker_network(make, tracker="toy", variant="v", weights="default", hint="train it")


def test_build_tracker_network_names_the_variant_when_a_file_does_not_fit(tmp_path):
    from torch import nn

    from trackerzoo.weights import build_tracker_network, save_safetensors

    path = tmp_path / "toy.safetensors"
    save_safetensors(nn.Linear(3, 2).state_dict(), path, fp16=False)
    with pytest.raises(ValueError, match="variant 'w'"):
        build_tracker_network(lambda pretrained: nn.Linear(4, 2), tracker="toy", variant="w", weights=str(path),
                              hint="train it")
