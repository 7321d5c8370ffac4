"""Weights are checked for dtype and finiteness, and unreadable files name themselves (issue #20, item 6)."""

from __future__ import annotations

import json
import math

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from trackerzoo.weights import apply_state_dict, load_into, load_state_dict, read_manifest, read_metadata
from trackerzoo.weights.files import resolve_weights


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Linear(4, 2))


def _state(dtype: torch.dtype | None = None, **replace: torch.Tensor) -> dict[str, torch.Tensor]:
    state = {key: value.clone() for key, value in _model().state_dict().items()}
    if dtype is not None:
        state = {key: value.to(dtype) if value.is_floating_point() else value for key, value in state.items()}
    state.update(replace)
    return state


@pytest.mark.parametrize("dtype", [torch.int8, torch.uint8, torch.int32, torch.int64, torch.bool])
def test_integer_weights_of_the_right_shape_are_refused(tmp_path, dtype):
    path = tmp_path / "int.safetensors"
    save_file(_state(dtype), str(path))
    model = _model()
    before = {key: value.clone() for key, value in model.state_dict().items()}
    with pytest.raises(ValueError, match=r"dtype mismatches.*0\.weight: file torch\.\w+ vs module torch\.float32"):
        load_into(model, path)
    for key, value in model.state_dict().items():  # nothing was loaded
        assert torch.equal(value, before[key])


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_other_float_dtypes_load_and_are_cast(tmp_path, dtype):
    path = tmp_path / "float.safetensors"
    save_file(_state(dtype), str(path))
    model = load_into(_model(), path)
    assert model[0].weight.dtype == torch.float32


def test_an_integer_buffer_stored_as_float_is_refused():
    state = _state(**{"1.num_batches_tracked": torch.tensor(3.0)})
    with pytest.raises(ValueError, match=r"1\.num_batches_tracked: file torch\.float32 vs module torch\.int64"):
        apply_state_dict(_model(), state)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_all_nan_or_infinite_weights_are_refused(tmp_path, value):
    path = tmp_path / "nan.safetensors"
    save_file(_state(**{"2.weight": torch.full((2, 4), value)}), str(path))
    with pytest.raises(ValueError, match=r"NaN or infinite values in \(1\): \['2\.weight \(8 of 8\)'\]"):
        load_into(_model(), path)


def test_a_single_nan_in_a_running_statistic_is_refused():
    running_var = torch.ones(4)
    running_var[2] = math.nan
    with pytest.raises(ValueError, match=r"1\.running_var \(1 of 4\)"):
        apply_state_dict(_model(), _state(**{"1.running_var": running_var}), source="x.safetensors")


def test_every_problem_is_reported_at_once():
    state = _state(**{"0.weight": torch.zeros(4, 3, 3, 3, dtype=torch.int8), "2.bias": torch.full((2,), math.nan)})
    with pytest.raises(ValueError, match=r"dtype mismatches.*0\.weight.*NaN or infinite values.*2\.bias"):
        apply_state_dict(_model(), state)


def _corrupt_files(tmp_path):
    good = tmp_path / "good.safetensors"
    save_file(_state(), str(good))
    data = good.read_bytes()
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(data[: len(data) // 2])
    header_cut = tmp_path / "header.safetensors"
    header_cut.write_bytes(data[:20])
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\xff" * 64)
    pickled = tmp_path / "pickled.safetensors"
    torch.save(_state(), pickled)
    empty = tmp_path / "empty.safetensors"
    empty.write_bytes(b"")
    return [truncated, header_cut, garbage, pickled, empty]


def test_corrupt_truncated_or_foreign_files_are_value_errors_naming_the_file(tmp_path):
    for path in _corrupt_files(tmp_path):
        with pytest.raises(ValueError, match=rf"{path.name}.*not a readable safetensors file") as info:
            load_state_dict(path)
        assert type(info.value) is ValueError
        with pytest.raises(ValueError, match=rf"{path.name}.*not a readable safetensors file"):
            load_into(_model(), path)
        with pytest.raises(ValueError, match=rf"{path.name}.*not a readable safetensors file"):
            read_metadata(path)


@pytest.mark.parametrize("text", ["[{\"name\": \"a\",", "not json", "\x00\x01"])
def test_a_manifest_that_is_not_json_names_the_manifest(tmp_path, monkeypatch, text):
    manifest = tmp_path / "manifest.json"
    manifest.write_text(text)
    with pytest.raises(ValueError, match=r"weight manifest '.*manifest\.json' is not valid JSON"):
        read_manifest(manifest)
    monkeypatch.setenv("TRACKERZOO_WEIGHTS_DIR", str(tmp_path))
    with pytest.raises(ValueError, match=r"manifest\.json' is not valid JSON"):
        resolve_weights("anything")


def test_a_manifest_that_is_not_utf8_names_the_manifest(tmp_path):
    manifest = tmp_path / "manifest.json"
    manifest.write_bytes(b"\xff\xfe[]")
    with pytest.raises(ValueError, match=r"manifest\.json' is not UTF-8"):
        read_manifest(manifest)


def test_a_valid_manifest_still_reads(tmp_path):
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps([]))
    assert read_manifest(manifest) == []
