"""Declared tracker parameters: every field of every registered tracker is checked at create().

The kind (issue #20 item 5): for each registered tracker and each declared field, a value
of the wrong type, NaN and a value outside the declared range are refused with a
``ValueError`` that names the parameter and the value; the defaults pass. The issue's own
examples are pinned too, and ``trackerzoo list --params NAME`` prints the declarations.
"""

from __future__ import annotations

import dataclasses
import json
import math
import typing
from typing import ClassVar

import pytest

import trackerzoo
from trackerzoo.api import build_params
from trackerzoo.cli.main import main as cli_main
from trackerzoo.params import ParamSpec, Relation, describe_params, param, spec_of, validate_params

REGISTERED = sorted(info.name for info in trackerzoo.list_trackers())


def _params_type(name: str) -> type:
    return next(info for info in trackerzoo.list_trackers() if info.name == name).factory.Params


def _declared(name: str) -> list[tuple[dataclasses.Field, ParamSpec]]:
    return [(field, spec_of(field)) for field in dataclasses.fields(_params_type(name))]


def _cases() -> list:
    return [pytest.param(name, field.name, id=f"{name}.{field.name}")
            for name in REGISTERED for field, _ in _declared(name)]


def _out_of_range(spec: ParamSpec, annotation) -> object | None:
    """A value of the right type just outside the declaration, or None when the type is the whole range."""
    integer = int in typing.get_args(annotation) or annotation is int
    if spec.choices is not None:
        return "not-a-choice"
    if spec.high is not None:
        return int(spec.high) + 1 if integer else (spec.high if spec.high_open else spec.high + 0.5)
    if spec.low is not None:
        return int(spec.low) - 1 if integer else (spec.low if spec.low_open else spec.low - 0.5)
    if spec.check is not None:
        return "zoom"  # a text rule: no such entry
    return None


def test_every_registered_tracker_declares_every_parameter():
    assert {"cract", "csrt", "kcf", "mil"} <= set(REGISTERED)
    for name in REGISTERED:
        for field, spec in _declared(name):
            assert spec is not None, f"{name}.{field.name} is not declared with trackerzoo.params.param"
            assert spec.help, f"{name}.{field.name} has no meaning"


@pytest.mark.parametrize("name", REGISTERED)
def test_defaults_pass(name):
    params = build_params(_params_type(name), {}, name)
    validate_params(params, name)
    tracker = trackerzoo.create(name, weights=None, device="cpu")
    assert tracker.params == params


@pytest.mark.parametrize(("name", "field"), _cases())
def test_a_wrong_type_is_refused_with_the_name(name, field):
    annotation = typing.get_type_hints(_params_type(name))[field]
    wrong = 3 if annotation is str else [1]
    with pytest.raises(ValueError, match=rf"{field}=") as excinfo:
        trackerzoo.create(name, weights=None, device="cpu", **{field: wrong})
    assert repr(wrong) in str(excinfo.value)


@pytest.mark.parametrize(("name", "field"), _cases())
def test_nan_and_inf_are_refused_with_the_name(name, field):
    for bad in (math.nan, math.inf, -math.inf):
        with pytest.raises(ValueError, match=rf"{field}=-?(nan|inf)"):
            trackerzoo.create(name, weights=None, device="cpu", **{field: bad})


@pytest.mark.parametrize(("name", "field"), _cases())
def test_integers_too_large_for_a_float_are_refused_with_the_name(name, field):
    # 10**400 overflows float(): it must be a ValueError naming the field, not an OverflowError.
    annotation = typing.get_type_hints(_params_type(name))[field]
    if annotation in (bool, bool | None, str, str | None):
        return
    for bad in (10**400, -(10**400)):
        with pytest.raises(ValueError, match=rf"{field}="):
            trackerzoo.create(name, weights=None, device="cpu", **{field: bad})


@pytest.mark.parametrize(("name", "field"), _cases())
def test_a_value_outside_the_declared_range_is_refused_with_the_range(name, field):
    spec = next(spec for declared, spec in _declared(name) if declared.name == field)
    annotation = typing.get_type_hints(_params_type(name))[field]
    bad = _out_of_range(spec, annotation)
    if bad is None:
        assert annotation in (bool, bool | None), f"{name}.{field} declares no range"
        return
    with pytest.raises(ValueError, match=rf"{field}={bad!r}") as excinfo:
        trackerzoo.create(name, weights=None, device="cpu", **{field: bad})
    assert spec.range_text() in str(excinfo.value)


@pytest.mark.parametrize(
    ("name", "overrides", "message"),
    [
        ("cract", {"lr": None}, r"lr=None .*not None.*\[0, 1\]"),
        ("cract", {"pre_nms_top_k": 0}, r"pre_nms_top_k=0 .*\[1, 100000\]"),
        ("cract", {"template_size": 1}, r"template_size=1 .*\[64, 511\]"),
        ("cract", {"min_target_size": -5}, r"min_target_size=-5 .*\[1, 10000\]"),
        ("cract", {"alpha": math.nan}, r"alpha=nan .*finite"),
        ("cract", {"positive_iou": 0.3, "negative_iou": 0.5},
         r"positive_iou=0\.3, negative_iou=0\.5 break the rule positive_iou > negative_iou"),
        ("cract", {"num_proposals": 80}, r"num_proposals=80, pre_nms_top_k=60 .*pre_nms_top_k >= num_proposals"),
        ("cract", {"template_size": 300}, r"template_size=300, search_size=255 .*search_size > template_size"),
        ("cract", {"init_augmentations": "flip,zoom"}, r"init_augmentations='flip,zoom' .*zoom"),
        ("cract", {"ops_backend": "tpu"}, r"ops_backend='tpu' .*one of 'auto'"),
        ("csrt", {"number_of_scales": -3}, r"number_of_scales=-3 .*\[1, 100\]"),
        ("csrt", {"number_of_scales": 2.5}, r"number_of_scales=2\.5 .*integer"),
        ("mil", {"num_features": 0}, r"num_features=0 .*\[250, 5000\]"),
        ("mil", {"init_positive_radius": 0.0}, r"init_positive_radius=0\.0 .*\(0, 10\]"),
        ("kcf", {"sigma": 0.0}, r"sigma=0\.0 .*\(0, 10\]"),
        ("csrt", {"use_hog": 1}, r"use_hog=1 .*true or false"),
    ],
)
def test_the_issues_examples_are_named(name, overrides, message):
    with pytest.raises(ValueError, match=message):
        trackerzoo.create(name, weights=None, device="cpu", **overrides)


def test_none_keeps_opencv_defaults_and_text_from_the_command_line_still_converts():
    assert trackerzoo.create("csrt", number_of_scales=None).params.number_of_scales is None
    params = build_params(_params_type("cract"), {"lr": "0.25", "use_discriminator": "false"}, "cract")
    assert params.lr == 0.25 and params.use_discriminator is False
    with pytest.raises(ValueError, match="lr"):
        build_params(_params_type("cract"), {"lr": "nan"}, "cract")


@dataclasses.dataclass
class _Toy:
    rate: float = param(0.5, low=0.0, high=1.0, high_open=True, help="a rate")
    count: int = param(3, low=1, help="a count")
    mode: str = param("a", choices=("a", "b"), help="a mode")
    limit: float | None = param(None, low=0.0, low_open=True, help="an optional limit")
    small: int = param(1, high=10, help="a capped count")
    relations: ClassVar[tuple[Relation, ...]] = (Relation("count > small", lambda p: p.count > p.small),)


BUILT: list[object] = []


class _ToyTracker(trackerzoo.Tracker):
    Params = _Toy

    def __init__(self, *args, **kwargs):
        BUILT.append(self)
        super().__init__(*args, **kwargs)

    def _initialize(self, frame, box, mask):
        self._box = box

    def _track(self, frame):
        return trackerzoo.Prediction(box=self._box, score=1.0)


def test_validation_runs_before_the_tracker_is_built():
    BUILT.clear()
    with pytest.raises(ValueError, match=r"rate=1\.0 is out of range: valid range \[0, 1\)"):
        trackerzoo.create(_ToyTracker, rate=1.0)
    with pytest.raises(ValueError, match=r"count=1, small=1 break the rule count > small"):
        trackerzoo.create(_ToyTracker, count=1)
    assert BUILT == []
    trackerzoo.create(_ToyTracker, rate=0.0, limit=2.5, mode="b")
    assert len(BUILT) == 1
    # Handing the tracker a bad parameter object directly is refused too.
    with pytest.raises(ValueError, match=r"limit=0\.0"):
        _ToyTracker(_Toy(limit=0.0))


def test_declarations_read_as_text():
    rows = {row.name: row for row in describe_params(_Toy)}
    assert rows["rate"].valid == "[0, 1)" and rows["rate"].type == "float" and rows["rate"].default == 0.5
    assert rows["count"].valid == ">= 1"
    assert rows["small"].valid == "<= 10"
    assert rows["mode"].valid == "one of 'a', 'b'"
    assert rows["limit"].valid == "> 0" and rows["limit"].type == "float | None"
    assert rows["limit"].help == "an optional limit"
    with pytest.raises(ValueError, match="help"):
        param(1, help=" ")
    with pytest.raises(ValueError, match="low 2 exceeds high 1"):
        param(1, low=2, high=1, help="x")


def test_list_params_prints_the_table(capsys):
    assert cli_main(["list", "--params", "cract"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[1].split() == ["NAME", "TYPE", "DEFAULT", "VALID", "MEANING"]
    row = next(line for line in lines if line.startswith("pre_nms_top_k "))
    assert row.split()[:4] == ["pre_nms_top_k", "int", "60", "[1,"] and "100000]" in row
    assert "anchors ranked by the RPN kept before NMS" in row
    assert "positive_iou > negative_iou" in lines[-1]
    # Every row starts its DEFAULT and VALID cells where the header does.
    for column in ("DEFAULT", "VALID"):
        offset = lines[1].index(column)
        for line in lines[2:-1]:
            assert line[offset - 2:offset] == "  " and line[offset] != " ", line
    assert cli_main(["list", "--params", "mil"]) == 0
    mil = capsys.readouterr().out
    assert "num_features" in mil and "[250, 5000]" in mil and "int | None" in mil


def test_list_params_json_and_unknown_name(capsys):
    assert cli_main(["list", "--params", "csrt", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    rows = {row["name"]: row for row in listing["params"]}
    assert rows["number_of_scales"]["valid"] == "[1, 100]"
    assert rows["number_of_scales"]["default"] is None
    assert listing["relations"] == []
    assert cli_main(["list", "--params", "nope"]) == 2
    err = capsys.readouterr().err
    assert "no tracker named 'nope'" in err and "csrt" in err
