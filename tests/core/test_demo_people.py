"""The hand-drawn keyframes of the demo clip's people and the check against them."""

from __future__ import annotations

import math

import pytest

from trackerzoo.demo_data import DEMO_PERSON, AnnotatedPerson, check_keyframes, demo_person, load_demo_people

FRAME_WIDTH, FRAME_HEIGHT, CLIP_FRAMES = 768, 576, 200


def _follow(person: AnnotatedPerson, shift: float = 0.0, widen: float = 1.0) -> list[tuple[float, ...]]:
    """A box per frame from the person's first frame: their keyframe boxes, held in between."""
    boxes, current = [], person.init_box
    for frame in range(person.first_frame, CLIP_FRAMES):
        current = person.boxes.get(frame) or current
        x, y, w, h = current
        boxes.append((x + shift * w, y, w * widen, h))
    return boxes


def test_annotations_cover_five_people_inside_the_frame():
    people = load_demo_people()
    assert set(people) == {"leather-jacket", "jeans", "black-coat", "red-jacket", "fair-hair"}
    assert DEMO_PERSON in people
    for person in people.values():
        assert person.description
        frames = sorted(person.boxes)
        assert frames[0] == person.first_frame and frames[-1] == CLIP_FRAMES - 1
        assert all(frame % 10 == 0 for frame in frames[1:-1])
        for box in person.boxes.values():
            if box is None:
                continue
            x, y, w, h = box
            assert w > 10 and h > 40 and x >= 0 and y >= 0
            assert x + w <= FRAME_WIDTH and y + h <= FRAME_HEIGHT
    assert people["black-coat"].boxes[199] is None  # he leaves at the right edge at about frame 149
    assert people["red-jacket"].first_frame == 22


def test_following_the_keyframes_is_on_target_everywhere():
    person = demo_person("leather-jacket")
    check = check_keyframes(person, _follow(person), person.first_frame)
    assert check.checked == len(person.boxes) - 1  # the initial frame is not counted
    assert check.on_target == check.checked and check.first_miss is None
    assert math.isclose(check.mean_iou, 1.0)


def test_a_box_on_the_neighbour_or_over_a_pair_is_off_target():
    person = demo_person("red-jacket")
    beside = check_keyframes(person, _follow(person, shift=1.2), person.first_frame)
    assert beside.on_target == 0 and beside.first_miss == 30
    # Widened to the right over the companion: the centre leaves the person's box.
    pair = check_keyframes(person, _follow(person, widen=2.4), person.first_frame)
    assert pair.on_target == 0 and pair.mean_iou < 0.45


def test_people_out_of_the_frame_or_beyond_the_run_are_skipped():
    person = demo_person("black-coat")
    short = _follow(person)[:55]  # frames 0-54
    check = check_keyframes(person, short, person.first_frame)
    assert check.checked == 5  # keyframes 10-50


def test_bad_inputs_name_the_problem():
    with pytest.raises(ValueError, match=r"no annotated person 'nobody'.*red-jacket"):
        demo_person("nobody")
    person = demo_person("jeans")
    boxes = _follow(person)
    boxes[10] = (float("nan"), 0.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="frame 10 is not finite"):
        check_keyframes(person, boxes, 0)
