"""The dispatch table of ``auto``: buckets, lookup order, validity rules, and the tune command."""

from __future__ import annotations

import json

import pytest
import torch

from trackerzoo import ops
from trackerzoo.ops import _alternatives, _backend, _table, tune


def _table_with(choices: dict, device: str = "cpu") -> dict:
    return {"format": 1, "devices": {device: {"choices": choices}}}


@pytest.fixture
def kernels_built(monkeypatch):
    monkeypatch.setattr(_backend, "_has_kernel", lambda op, backend: True)


def test_shape_buckets():
    x1, x8, x9 = torch.zeros(1, 2, 5, 5), torch.zeros(8, 2, 5, 5), torch.zeros(9, 2, 5, 5)
    assert [_backend.shape_bucket("dw_xcorr", (t, t)) for t in (x1, x8, x9)] == ["1", "2-8", "9+"]
    cl = x8.contiguous(memory_format=torch.channels_last)
    assert _backend.shape_bucket("dw_xcorr", (cl, cl)) == "2-8/cl"
    # one channel: channels-last strides are also contiguous, so that is no channels-last call
    one = torch.zeros(1, 1, 5, 5).contiguous(memory_format=torch.channels_last)
    assert _backend.shape_bucket("dw_xcorr", (one, one)) == "1"
    x, w = torch.zeros(250, 4, 9, 9), torch.ones(250)
    filt = torch.zeros(32, 4, 3, 3)
    assert _backend.shape_bucket("dcf_normal_apply", (x, w, filt)) == "9+"
    assert _backend.shape_bucket("dcf_cg", (x, torch.zeros(250, 32, 9, 9), w, filt)) == "9+"
    assert _backend.shape_bucket("dcf_cg", (x, torch.zeros(250, 1, 9, 9), w, filt[:1])) == "1"


def test_auto_follows_the_table(kernels_built):
    choices = {"lut_affinity_softmax": {"1": "sdpa", "9+": "torch"}, "dw_xcorr": {"1": "cpu"}}
    ops.set_dispatch_table(_table_with(choices))
    q = torch.zeros(1, 4, 3)
    assert ops.auto_choice("lut_affinity_softmax", q, q, q) == "sdpa"
    q32 = torch.zeros(32, 4, 3)
    assert ops.auto_choice("lut_affinity_softmax", q32, q32, q32) == "torch"
    q4 = torch.zeros(4, 4, 3)  # bucket "2-8" is not in the table: the kernel
    assert ops.auto_choice("lut_affinity_softmax", q4, q4, q4) == "cpu"
    s = torch.zeros(1, 2, 5, 5)
    assert ops.auto_choice("dw_xcorr", s, s) == "cpu"


def test_auto_runs_the_path_the_table_names(monkeypatch):
    calls = []
    original = _alternatives.dw_xcorr_grouped_cl
    monkeypatch.setattr(_alternatives, "dw_xcorr_grouped_cl", lambda s, k: calls.append(s.shape) or original(s, k))
    ops.set_dispatch_table(_table_with({"dw_xcorr": {"2-8": "grouped_cl"}}))
    s, k = torch.randn(2, 3, 6, 6), torch.randn(2, 3, 2, 2)
    out = ops.dw_xcorr(s, k)
    assert calls == [torch.Size([2, 3, 6, 6])]
    torch.testing.assert_close(out, ops.dw_xcorr(s, k, backend="torch"))


def test_table_entries_that_cannot_run_here_are_ignored(monkeypatch):
    monkeypatch.setattr(_backend, "_has_kernel", lambda op, backend: backend == "cpu")
    ops.set_dispatch_table(_table_with({"dw_xcorr": {"1": "cuda", "2-8": "no-such-path", "9+": "sdpa"}}))
    for n in (1, 4, 16):
        s = torch.zeros(n, 2, 5, 5)
        assert ops.auto_choice("dw_xcorr", s, s) == "cpu"
    monkeypatch.setattr(_backend, "_has_kernel", lambda op, backend: False)
    ops.set_dispatch_table(_table_with({"dw_xcorr": {"1": "cpu"}}))
    s = torch.zeros(1, 2, 5, 5)
    assert ops.auto_choice("dw_xcorr", s, s) == "torch"  # the table's kernel is not built


def test_table_applies_to_float32_calls_only(kernels_built):
    ops.set_dispatch_table(_table_with({"lut_affinity_softmax": {"1": "sdpa"}}))
    q64 = torch.zeros(1, 4, 3, dtype=torch.float64)
    assert ops.auto_choice("lut_affinity_softmax", q64, q64, q64) == "cpu"
    q16 = torch.zeros(1, 4, 3, dtype=torch.float16)
    assert ops.auto_choice("lut_affinity_softmax", q16, q16, q16) == "torch"


def test_forced_reference_beats_the_table(monkeypatch, kernels_built):
    ops.set_dispatch_table(_table_with({"lut_affinity_softmax": {"1": "sdpa"}}))
    monkeypatch.setenv(_backend.ENV_VAR, "torch")
    q = torch.zeros(1, 4, 3)
    assert ops.auto_choice("lut_affinity_softmax", q, q, q) == "torch"


def test_dcf_inputs_that_require_grad_take_the_reference_whatever_the_table(monkeypatch):
    ops.set_dispatch_table(_table_with({"dcf_normal_apply": {"1": "autograd"}}))
    monkeypatch.setattr(_alternatives, "dcf_normal_apply_autograd", lambda *a: pytest.fail("autograd path taken"))
    x = torch.randn(4, 2, 5, 5, requires_grad=True)
    out = ops.dcf_normal_apply(x, torch.ones(4), torch.randn(1, 2, 3, 3), 0.1, 1)
    out.sum().backward()
    assert x.grad is not None


def test_lookup_order_environment_then_user_cache_then_shipped(monkeypatch, tmp_path, kernels_built):
    q = torch.zeros(1, 4, 3)
    cache = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    assert _table.user_table_path() == cache / "trackerzoo" / "ops_table.json"
    shipped = tmp_path / "shipped.json"
    shipped.write_text(json.dumps(_table_with({"lut_affinity_softmax": {"1": "torch"}})))
    monkeypatch.setattr(_table, "SHIPPED", shipped)
    monkeypatch.delenv(_table.TABLE_ENV_VAR)
    _table.set_table(None)
    assert ops.auto_choice("lut_affinity_softmax", q, q, q) == "torch"
    assert ops.dispatch_table()["sources"] == [str(shipped)]
    _table.user_table_path().parent.mkdir(parents=True)
    _table.user_table_path().write_text(json.dumps(_table_with({"lut_affinity_softmax": {"1": "sdpa"}})))
    _table.set_table(None)
    assert ops.auto_choice("lut_affinity_softmax", q, q, q) == "sdpa"
    assert ops.dispatch_table()["sources"] == [str(_table.user_table_path()), str(shipped)]
    named = tmp_path / "named.json"
    named.write_text(json.dumps(_table_with({"lut_affinity_softmax": {"1": "cpu"}})))
    monkeypatch.setenv(_table.TABLE_ENV_VAR, str(named))
    _table.set_table(None)
    assert ops.dispatch_table() == {"sources": [str(named)], "choices": {"cpu": {"lut_affinity_softmax": {"1": "cpu"}}}}
    monkeypatch.setenv(_table.TABLE_ENV_VAR, "off")
    _table.set_table(None)
    assert ops.dispatch_table()["choices"] == {}


def test_a_user_table_replaces_the_shipped_one_per_device_only(monkeypatch, tmp_path):
    shipped = tmp_path / "shipped.json"
    shipped.write_text(json.dumps(_table_with({"dw_xcorr": {"1": "torch"}})))
    user = tmp_path / "trackerzoo" / "ops_table.json"
    user.parent.mkdir()
    user.write_text(json.dumps(_table_with({"dw_xcorr": {"1": "cuda"}}, device="cuda")))
    monkeypatch.setattr(_table, "SHIPPED", shipped)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv(_table.TABLE_ENV_VAR)
    _table.set_table(None)
    assert _table.choice("dw_xcorr", "cpu", "1") == "torch"
    assert _table.choice("dw_xcorr", "cuda", "1") == "cuda"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "Expecting property name"),
        (json.dumps({"format": 2, "devices": {}}), "need format 1"),
        (json.dumps({"format": 1, "devices": {"cpu": {}}}), "device 'cpu' has no 'choices'"),
        (json.dumps(_table_with({"dw_xcorr": {"1": 3}})), "choices of 'dw_xcorr' on 'cpu'"),
    ],
)
def test_a_broken_table_file_is_skipped_with_a_warning(monkeypatch, tmp_path, content, message):
    path = tmp_path / "table.json"
    path.write_text(content)
    monkeypatch.setenv(_table.TABLE_ENV_VAR, str(path))
    _table.set_table(None)
    with pytest.warns(RuntimeWarning, match=message):
        assert _table.choice("dw_xcorr", "cpu", "1") is None
    with pytest.raises(ValueError, match=message):
        ops.set_dispatch_table(path)


def test_a_missing_named_table_warns(monkeypatch, tmp_path):
    monkeypatch.setenv(_table.TABLE_ENV_VAR, str(tmp_path / "absent.json"))
    _table.set_table(None)
    with pytest.warns(RuntimeWarning, match="absent.json"):
        assert _table.choice("dw_xcorr", "cpu", "1") is None


def test_the_shipped_table_names_only_paths_that_exist():
    table = _table.read(_table.SHIPPED)
    choices = _table.parse(table, "shipped")
    assert set(choices) == {"cpu"}
    buckets = {"1", "2-8", "9+"}
    for op, picks in choices["cpu"].items():
        assert op in _backend.OPS
        allowed = buckets | {b + "/cl" for b in buckets} if op == "dw_xcorr" else buckets
        assert set(picks) <= allowed
        assert set(picks.values()) <= {"torch", "cpu", *_backend.ALTERNATIVES[op]}
    assert table["devices"]["cpu"]["threads"] == 1


def test_lookup_is_cheap():
    ops.set_dispatch_table(_table_with({"dw_xcorr": {"1": "torch"}}))
    assert _table.choice("dw_xcorr", "cpu", "1") == "torch"
    assert _table.choice("dw_xcorr", "cuda", "1") is None
    assert _table.choice("nope", "cpu", "1") is None


# ---------------------------------------------------------------- the tune command
def _tiny_cases() -> list[tune.Case]:
    def make_xcorr(device):
        s, k = torch.randn(1, 4, 9, 9, device=device), torch.randn(1, 4, 3, 3, device=device)
        return (lambda backend: ops.dw_xcorr(s, k, backend=backend)), (s, k)

    def make_lut(device):
        q = torch.randn(2, 5, 4, device=device)
        return (lambda backend: ops.lut_affinity_softmax(q, q, q, backend=backend)), (q, q, q)

    return [tune.Case("dw_xcorr", "1", "tiny", make_xcorr), tune.Case("lut_affinity_softmax", "2-8", "tiny", make_lut)]


def test_measure_times_correct_paths_and_rejects_wrong_ones(monkeypatch):
    monkeypatch.setattr(_alternatives, "lut_affinity_softmax_sdpa", lambda q, k, v, s: torch.zeros_like(q))
    rows = [tune.measure(case, torch.device("cpu"), repeats=3, budget_s=0.0) for case in _tiny_cases()]
    assert set(rows[0]["medians_ms"]) == set(tune.candidates("dw_xcorr", torch.device("cpu")))
    assert "grouped_cl" in rows[0]["medians_ms"] and rows[0]["errors"]["grouped_cl"] < 1e-6
    assert "sdpa" not in rows[1]["medians_ms"]
    assert rows[1]["rejected"]["sdpa"].startswith("relative error 1 >")
    assert tune.fastest(rows[1]) in rows[1]["medians_ms"]


def test_a_path_that_raises_is_rejected(monkeypatch):
    def broken(search, kernel):
        raise RuntimeError("no such primitive")

    monkeypatch.setattr(_alternatives, "dw_xcorr_grouped_cl", broken)
    row = tune.measure(_tiny_cases()[0], torch.device("cpu"), repeats=3, budget_s=0.0)
    assert row["rejected"] == {"grouped_cl": "RuntimeError: no such primitive"}


def test_build_table_picks_the_smallest_median():
    rows = [
        {"op": "dw_xcorr", "bucket": "1", "medians_ms": {"torch": 2.0, "cpu": 1.0, "grouped_cl": 3.0}},
        {"op": "dw_xcorr", "bucket": "9+", "medians_ms": {"torch": 2.0, "cpu": 5.0}},
        {"op": "dcf_cg", "bucket": "1", "medians_ms": {}},
    ]
    table = tune.build_table(rows, torch.device("cpu"), threads=1)
    assert _table.parse(table, "built") == {"cpu": {"dw_xcorr": {"1": "cpu", "9+": "torch"}}}
    assert table["devices"]["cpu"]["medians_ms"]["dw_xcorr"]["9+"] == {"torch": 2.0, "cpu": 5.0}


def test_merge_keeps_the_other_devices(tmp_path):
    path = tmp_path / "t.json"
    path.write_text(json.dumps(_table_with({"dw_xcorr": {"1": "cuda"}}, device="cuda")))
    merged = tune.merge_into(path, _table_with({"dw_xcorr": {"1": "cpu"}}))
    assert set(merged["devices"]) == {"cpu", "cuda"}
    path.write_text("garbage")
    assert set(tune.merge_into(path, _table_with({"dw_xcorr": {"1": "cpu"}}))["devices"]) == {"cpu"}


def test_tune_main_writes_a_table_that_auto_then_follows(tmp_path, monkeypatch, capsys):
    out, report = tmp_path / "table.json", tmp_path / "report.json"
    threads = torch.get_num_threads()
    try:
        assert tune.main(["--out", str(out), "--report", str(report), "--markdown", "--repeats", "3",
                          "--budget", "0"], cases=_tiny_cases()) == 0
    finally:
        torch.set_num_threads(threads)
    table = json.loads(out.read_text())
    picks = _table.parse(table, "out")["cpu"]
    assert set(picks) == {"dw_xcorr", "lut_affinity_softmax"}
    data = json.loads(report.read_text())
    assert [r["op"] for r in data["rows"]] == ["dw_xcorr", "lut_affinity_softmax"]
    assert data["threads"] == 1 and data["device_type"] == "cpu"
    assert data["auto_after"]["dw_xcorr 1"] == picks["dw_xcorr"]["1"]
    text = capsys.readouterr().out
    assert text.startswith("| op | bucket | shape | path |") and "| auto |" in text
    monkeypatch.setenv(_table.TABLE_ENV_VAR, str(out))
    _table.set_table(None)
    s, k = torch.randn(1, 4, 9, 9), torch.randn(1, 4, 3, 3)
    assert ops.auto_choice("dw_xcorr", s, k) == picks["dw_xcorr"]["1"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [(["--device", "tpu"], "--device must be cpu or cuda"), (["--repeats", "0"], "--repeats must be >= 1"),
     (["--ops", "conv"], "invalid choice")],
)
def test_tune_arguments_are_checked(argv, message, capsys):
    with pytest.raises(SystemExit):
        tune.parse_args(argv)
    assert message in capsys.readouterr().err


def test_tracking_cases_cover_every_op_and_bucket():
    cases = tune.tracking_cases()
    assert {c.op for c in cases} == set(_backend.OPS)
    xcorr = {c.bucket for c in cases if c.op == "dw_xcorr"}
    assert xcorr == {"1", "2-8", "9+", "1/cl", "2-8/cl", "9+/cl"}
    assert [c.op for c in tune.tracking_cases(("dcf_cg",))] == ["dcf_cg"] * 3


def test_auto_choice_refuses_an_unknown_op():
    with pytest.raises(ValueError, match="unknown op 'conv'"):
        ops.auto_choice("conv", torch.zeros(1))
