"""Planning one sequence: which cut-outs, which background, and every trajectory.

``plan_scene`` draws all random choices up front, as arrays over time, so rendering
(``render.py``) is a deterministic loop over frames with no randomness left in it.
The target starts near the centre, fully visible and unoccluded, because frame 0 is
where a tracker is initialised; the difficulties (exits, occlusions, distractors,
blur, illumination) are scheduled after the first frames.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from trackerzoo.datasets.synthetic.backgrounds import CameraPath, StillBackground, VideoBackground, plan_camera
from trackerzoo.datasets.synthetic.pools import AssetPool
from trackerzoo.datasets.synthetic.signals import bump, smooth_noise, smooth_step
from trackerzoo.datasets.synthetic.sprites import Pose, Sprite, recolour, sprite_scales

# Frames at the start of a sequence kept free of occluders and exits.
QUIET_START = 10

# Units of the companion's offset from the target (``SceneConfig.companion_spacing``).
COMPANION_SPACINGS = ("size", "extent")


@dataclass(frozen=True)
class SceneConfig:
    """Knobs of the generator; the defaults are those of ``zoo-synth-val``.

    Sizes are in pixels of a 640-pixel-wide frame and scale with ``frame_size``.
    """

    frame_size: tuple[int, int] = (640, 480)
    object_size: tuple[float, float] = (40.0, 150.0)
    p_camera_motion: float = 0.7
    p_video_background: float = 0.25
    p_exit: float = 0.35
    p_occluder: float = 0.6
    p_distractor: float = 0.6
    p_motion_blur: float = 0.5
    p_spin: float = 0.15
    p_light_switch: float = 0.2
    p_spotlight: float = 0.3
    max_clutter: int = 3
    # A look-alike that moves with the target from frame 0 (people walking in pairs or
    # groups): off in zoo-synth-val, whose sequences must not change; the draw comes after
    # every other one, so a set made with 0 is identical to one made before this knob.
    p_companion: float = 0.0
    # How the companion's side-by-side offset is measured. "size": in target sizes (the
    # sprite's longest side), so a tall thin target's companion walks one to two widths
    # or more away and never touches it. "extent": in the target's own width (height for a
    # vertical offset), so thin targets walk shoulder to shoulder, from a 40% overlap to a
    # gap of a fifth of a width, like the people of the demo clip.
    companion_spacing: str = "size"
    # Long-term knobs (the ``zoo-synth-lt`` preset), all off by default and drawn after every
    # other draw, so sets made without them are unchanged. ``long_term_exits``: exits in which
    # the target leaves the view for ``exit_frames`` frames (inclusive range) and re-enters
    # through another border at another place. ``full_occlusions``: occluders two to three
    # times the target's size crossing its centre. ``look_alikes``: look-alikes wandering
    # through the whole frame for the whole sequence (what a re-detector must not lock on).
    long_term_exits: int = 0
    exit_frames: tuple[int, int] = (40, 120)
    full_occlusions: int = 0
    look_alikes: int = 0

    def __post_init__(self) -> None:
        width, height = self.frame_size
        if width < 32 or height < 32:
            raise ValueError(f"frame_size {self.frame_size} is too small; need at least 32x32")
        low, high = self.object_size
        if not 0 < low <= high:
            raise ValueError(f"object_size {self.object_size} must be 0 < min <= max")
        if not 0.0 <= self.p_companion <= 1.0:
            raise ValueError(f"p_companion must lie in [0, 1], got {self.p_companion!r}")
        if self.companion_spacing not in COMPANION_SPACINGS:
            raise ValueError(f"companion_spacing must be one of {', '.join(COMPANION_SPACINGS)}, "
                             f"got {self.companion_spacing!r}")
        for name in ("long_term_exits", "full_occlusions", "look_alikes"):
            if int(getattr(self, name)) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)!r}")
        shortest, longest = self.exit_frames
        if not 1 <= shortest <= longest:
            raise ValueError(f"exit_frames {self.exit_frames} must satisfy 1 <= min <= max")


@dataclass
class Layer:
    """One cut-out and its pose over time; ``role`` is target, occluder, distractor or clutter."""

    sprite: Sprite
    role: str
    cx: np.ndarray
    cy: np.ndarray
    size: np.ndarray
    aspect: np.ndarray
    angle: np.ndarray
    exposure: float = 0.0  # fraction of a frame interval the shutter is open (motion blur)

    def pose(self, t: int) -> Pose:
        # Blur follows the displacement over the exposure, estimated by central differences.
        last = self.cx.size - 1
        before, after = max(t - 1, 0), min(t + 1, last)
        span = max(after - before, 1)
        dx = (self.cx[after] - self.cx[before]) / span * self.exposure
        dy = (self.cy[after] - self.cy[before]) / span * self.exposure
        return Pose(float(self.cx[t]), float(self.cy[t]), float(self.size[t]), float(self.aspect[t]),
                    float(self.angle[t]), float(dx), float(dy))


@dataclass
class Illumination:
    """Per-frame global gain and colour tint, plus an optional moving spotlight."""

    gain: np.ndarray  # [T]
    tint: np.ndarray  # [T, 3]
    spot_x: np.ndarray | None = None  # [T], frame pixels
    spot_y: np.ndarray | None = None
    spot_radius: float = 0.0
    spot_strength: float = 0.0


@dataclass
class Scene:
    length: int
    frame_size: tuple[int, int]
    background: StillBackground | VideoBackground
    camera: CameraPath
    layers: list[Layer]  # bottom to top
    illumination: Illumination
    events: dict = field(default_factory=dict)

    @property
    def target_index(self) -> int:
        return next(i for i, layer in enumerate(self.layers) if layer.role == "target")


def _uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(rng.uniform(low, high))


def _target_layer(rng: np.random.Generator, sprite: Sprite, length: int, config: SceneConfig,
                  events: dict) -> Layer:
    width, height = config.frame_size
    unit = width / 640.0
    low, high = config.object_size
    size0 = math.exp(_uniform(rng, math.log(low), math.log(high))) * unit
    correlation = _uniform(rng, 12, 60)
    cx = width * _uniform(rng, 0.35, 0.65) + width * _uniform(rng, 0.08, 0.3) * smooth_noise(rng, length, correlation)
    cy = height * _uniform(rng, 0.35, 0.65) + height * _uniform(rng, 0.08, 0.3) * smooth_noise(rng, length, correlation)
    size = size0 * np.exp(_uniform(rng, 0.05, 0.4) * smooth_noise(rng, length, correlation * 1.5))
    aspect = np.exp(_uniform(rng, 0.0, 0.2) * smooth_noise(rng, length, correlation))
    angle = _uniform(rng, 0.0, 30.0) * smooth_noise(rng, length, correlation)
    if rng.random() < config.p_spin:
        spin_per_frame = float(rng.choice([-1.0, 1.0])) * _uniform(rng, 1.0, 5.0)
        angle = angle + spin_per_frame * np.arange(length)
        events["spin"] = True
    if length > 4 * QUIET_START and rng.random() < config.p_exit:
        # Push the target out through its nearest border and bring it back.
        duration = int(rng.integers(30, 80))
        start = int(rng.integers(QUIET_START * 2, max(QUIET_START * 2 + 1, length - duration)))
        peak = min(start + duration // 2, length - 1)
        distances = {"left": cx[peak], "right": width - cx[peak], "top": cy[peak], "bottom": height - cy[peak]}
        side = min(distances, key=distances.get)
        push = (distances[side] + size[peak] * 1.2) * bump(length, start, duration)
        if side == "left":
            cx = cx - push
        elif side == "right":
            cx = cx + push
        elif side == "top":
            cy = cy - push
        else:
            cy = cy + push
        events["exit"] = {"start": start, "duration": duration, "side": side}
    exposure = _uniform(rng, 0.4, 1.2) if rng.random() < config.p_motion_blur else 0.0
    if exposure:
        events["motion_blur_exposure"] = round(exposure, 3)
    return Layer(sprite, "target", cx, cy, size, aspect, angle, exposure)


def _crossing_layer(rng: np.random.Generator, sprite: Sprite, role: str, target: Layer, length: int,
                    size_ratio: tuple[float, float], miss: float) -> Layer:
    """A cut-out moving in a straight line that passes the target at a random time.

    ``miss`` is the closest distance to the target centre in units of the target
    size: 0 for an occluder aimed at it, > 0 for a distractor passing close by.
    """
    earliest = min(QUIET_START * 2, length - 1)
    t_cross = int(rng.integers(earliest, max(earliest + 1, length - 5)))
    target_size = float(target.size[t_cross])
    size = target_size * _uniform(rng, *size_ratio)
    direction = _uniform(rng, 0, 2 * math.pi)
    along = np.array([math.cos(direction), math.sin(direction)])
    across = np.array([-along[1], along[0]])
    duration = _uniform(rng, 12, 50)
    speed = (size + target_size) * 1.5 / duration
    offset = across * miss * target_size * float(rng.choice([-1.0, 1.0]))
    t = np.arange(length, dtype=np.float64) - t_cross
    cx = target.cx[t_cross] + offset[0] + along[0] * speed * t
    cy = target.cy[t_cross] + offset[1] + along[1] * speed * t
    sizes = np.full(length, size) * np.exp(0.1 * smooth_noise(rng, length, 30.0))
    aspect = np.exp(0.1 * smooth_noise(rng, length, 30.0))
    angle = _uniform(rng, -30, 30) + 15.0 * smooth_noise(rng, length, 30.0)
    return Layer(sprite, role, cx, cy, sizes, aspect, angle, target.exposure)


def _target_extent(target: Layer) -> tuple[np.ndarray, np.ndarray]:
    """The target's unrotated width and height over time, in frame pixels."""
    width, height = target.sprite.size
    scale_x, scale_y = sprite_scales(target.sprite, target.size, target.aspect)
    return width * scale_x, height * scale_y


def _companion_layer(rng: np.random.Generator, sprite: Sprite, target: Layer, length: int,
                     spacing: str) -> Layer:
    """A look-alike walking beside the target, in the template from frame 0.

    It keeps a side-by-side offset of 0.6-1.2 units (mostly horizontal, drifting slowly,
    sometimes closing to a partial overlap; the unit is the target's size or, with
    ``spacing="extent"``, its width across and height along) and, in half of the
    sequences, walks away from the target at a random time. It teaches what a crowd of
    look-alikes needs: the template's centre object is the target, and a box covering
    the pair is wrong.
    """
    correlation = _uniform(rng, 20, 60)
    side = float(rng.choice([-1.0, 1.0]))
    heading = _uniform(rng, -0.5, 0.5)  # radians away from horizontal
    distance = _uniform(rng, 0.6, 1.2) + 0.25 * smooth_noise(rng, length, correlation)
    distance = np.maximum(distance, 0.45)
    if rng.random() < 0.5:
        leave = int(rng.integers(min(QUIET_START * 2, length - 1), length))
        distance = distance + np.maximum(np.arange(length) - leave, 0) * _uniform(rng, 0.02, 0.08)
    unit_x, unit_y = _target_extent(target) if spacing == "extent" else (target.size, target.size)
    offset_x = side * math.cos(heading) * distance * unit_x
    offset_y = math.sin(heading) * distance * unit_y
    sizes = target.size * _uniform(rng, 0.85, 1.15) * np.exp(0.08 * smooth_noise(rng, length, correlation))
    aspect = target.aspect * np.exp(0.1 * smooth_noise(rng, length, correlation))
    angle = target.angle + 10.0 * smooth_noise(rng, length, correlation)
    return Layer(sprite, "distractor", target.cx + offset_x, target.cy + offset_y, sizes, aspect, angle,
                 target.exposure)


def _look_alike(rng: np.random.Generator, pool: AssetPool, target_sprite: Sprite) -> tuple[Sprite, str]:
    """A recoloured copy, an identical copy or a sibling cut-out of the target's sprite."""
    draw = rng.random()
    if draw < 0.45:
        return recolour(target_sprite, _uniform(rng, 40, 320), _uniform(rng, 0.7, 1.3)), "recoloured"
    if draw < 0.65:
        return target_sprite, "identical"
    return pool.similar_object(rng, target_sprite), "same-category"


def _wandering_layer(rng: np.random.Generator, sprite: Sprite, role: str, length: int, config: SceneConfig,
                     size: float) -> Layer:
    width, height = config.frame_size
    correlation = _uniform(rng, 15, 60)
    cx = width * _uniform(rng, 0.05, 0.95) + width * 0.3 * smooth_noise(rng, length, correlation)
    cy = height * _uniform(rng, 0.05, 0.95) + height * 0.3 * smooth_noise(rng, length, correlation)
    sizes = size * np.exp(0.2 * smooth_noise(rng, length, correlation))
    aspect = np.exp(0.1 * smooth_noise(rng, length, correlation))
    angle = _uniform(rng, -20, 20) + 20.0 * smooth_noise(rng, length, correlation)
    return Layer(sprite, role, cx, cy, sizes, aspect, angle)


def _keep_start_clear(layer: Layer, target: Layer) -> None:
    """Shift a layer that would touch the target in frame 0 so it starts clear of it."""
    reach = (layer.size[0] + target.size[0]) * 0.75
    dx, dy = layer.cx[0] - target.cx[0], layer.cy[0] - target.cy[0]
    distance = math.hypot(dx, dy)
    if distance < reach:
        if distance < 1e-6:
            dx, dy, distance = 1.0, 0.0, 1.0
        factor = reach / distance - 1.0
        layer.cx += dx * factor
        layer.cy += dy * factor


def _illumination(rng: np.random.Generator, length: int, config: SceneConfig, events: dict) -> Illumination:
    correlation = _uniform(rng, 20, 80)
    gain = np.exp(_uniform(rng, 0.0, 0.25) * smooth_noise(rng, length, correlation))
    if length > 3 * QUIET_START and rng.random() < config.p_light_switch:
        start = int(rng.integers(QUIET_START * 2, length - 5))
        factor = _uniform(rng, 0.5, 1.6)
        gain = gain * (1.0 + (factor - 1.0) * smooth_step(length, start, int(rng.integers(2, 8))))
        events["light_switch"] = {"frame": start, "factor": round(factor, 3)}
    tint = np.exp(0.06 * np.stack([smooth_noise(rng, length, correlation) for _ in range(3)], axis=1))
    light = Illumination(gain, tint)
    if rng.random() < config.p_spotlight:
        width, height = config.frame_size
        light.spot_x = width * (0.5 + 0.4 * np.clip(smooth_noise(rng, length, correlation), -1.2, 1.2))
        light.spot_y = height * (0.5 + 0.4 * np.clip(smooth_noise(rng, length, correlation), -1.2, 1.2))
        light.spot_radius = _uniform(rng, 0.15, 0.4) * width
        light.spot_strength = _uniform(rng, -0.5, 0.8)
        events["spotlight"] = True
    return light


def plan_scene(pool: AssetPool, rng: np.random.Generator, length: int, config: SceneConfig) -> Scene:
    """Draw everything about one sequence of ``length`` frames from ``rng``."""
    if length < 2:
        raise ValueError(f"a sequence needs at least 2 frames, got {length}")
    events: dict = {}
    use_video = rng.random() < config.p_video_background
    background = pool.background(rng, config.frame_size, length, use_video)
    moving_camera = rng.random() < config.p_camera_motion
    camera = plan_camera(rng, length, config.frame_size, background.canvas_size, moving_camera, smooth_noise)
    events["camera_motion"] = moving_camera
    target_sprite = pool.object(rng)
    target = _target_layer(rng, target_sprite, length, config, events)
    below: list[Layer] = []
    above: list[Layer] = []
    unit = config.frame_size[0] / 640.0
    for _ in range(int(rng.integers(0, config.max_clutter + 1))):
        size = math.exp(_uniform(rng, math.log(config.object_size[0]), math.log(config.object_size[1]))) * unit
        below.append(_wandering_layer(rng, pool.object(rng), "clutter", length, config, size))
    if rng.random() < config.p_distractor:
        count = int(rng.integers(1, 3))
        kinds = []
        for _ in range(count):
            sprite, kind = _look_alike(rng, pool, target_sprite)
            layer = _crossing_layer(rng, sprite, "distractor", target, length, (0.8, 1.2), _uniform(rng, 0.3, 1.5))
            (above if rng.random() < 0.25 else below).append(layer)
            kinds.append(kind)
        events["distractors"] = kinds
    if length > 3 * QUIET_START and rng.random() < config.p_occluder:
        count = int(rng.integers(1, 3))
        for _ in range(count):
            above.append(_crossing_layer(rng, pool.object(rng), "occluder", target, length, (0.6, 1.8),
                                         _uniform(rng, 0.0, 0.3)))
        events["occluders"] = count
    for layer in below + above:
        _keep_start_clear(layer, target)
    illumination = _illumination(rng, length, config, events)
    if config.p_companion > 0.0 and rng.random() < config.p_companion:
        sprite, kind = _look_alike(rng, pool, target_sprite)
        companion = _companion_layer(rng, sprite, target, length, config.companion_spacing)
        (above if rng.random() < 0.3 else below).append(companion)
        events["companion"] = kind
    _long_term_events(rng, pool, target_sprite, target, length, config, below, above, events)
    events["background"] = background.name
    events["target"] = target_sprite.name
    return Scene(length, config.frame_size, background, camera, [*below, target, *above], illumination, events)


# Frames over which the target slides out of (or into) the view on a long-term exit.
EXIT_RAMP = (12, 25)


def _border_distance(x: float, y: float, side: str, frame_size: tuple[int, int]) -> float:
    width, height = frame_size
    return {"left": x, "right": width - x, "top": y, "bottom": height - y}[side]


def _side_push(side: str) -> tuple[float, float]:
    return {"left": (-1.0, 0.0), "right": (1.0, 0.0), "top": (0.0, -1.0), "bottom": (0.0, 1.0)}[side]


def _fold(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """Fold a path smoothly into ``[low, high]`` by a cosine of the scaled position (mirrored outside)."""
    return low + (high - low) * 0.5 * (1.0 - np.cos(np.pi * (values - low) / (high - low)))


def _re_entry_exits(rng: np.random.Generator, target: Layer, length: int, config: SceneConfig) -> list[dict]:
    """Long exits: out through the nearest border, back through another one at another place.

    Each exit owns an equal slice of the frames after the quiet start. While the target is
    out, its whole later path jumps to a new place (uniform over the middle half of the
    frame); the path is then folded into the middle 80% of the frame, so the target leaves
    the view only on these exits. It slides out over a 12-25 frame ramp, stays outside for
    about ``exit_frames`` frames and slides back in through a different border over a
    second ramp. Changes ``target.cx``/``cy`` in place; returns the events.
    """
    width, height = config.frame_size
    count = int(config.long_term_exits)
    shortest, longest = config.exit_frames
    first = QUIET_START * 3
    slice_length = (length - first) // count
    plans: list[dict] = []
    for k in range(count):
        ramp_out, ramp_in = (int(rng.integers(EXIT_RAMP[0], EXIT_RAMP[1] + 1)) for _ in range(2))
        duration = int(rng.integers(shortest, longest + 1))
        low = first + k * slice_length + ramp_out
        high = first + (k + 1) * slice_length - duration - ramp_in
        if high <= low:
            break  # sequence too short for this many exits
        start = int(rng.integers(low, high))  # first frame fully outside
        middle = start + duration // 2
        new_x, new_y = width * _uniform(rng, 0.25, 0.75), height * _uniform(rng, 0.25, 0.75)
        target.cx[middle:] += new_x - target.cx[middle]
        target.cy[middle:] += new_y - target.cy[middle]
        plans.append({"start": start, "duration": duration, "ramp_out": ramp_out, "ramp_in": ramp_in,
                      "turn": int(rng.integers(1, 4))})
    target.cx[:] = _fold(target.cx, 0.1 * width, 0.9 * width)
    target.cy[:] = _fold(target.cy, 0.1 * height, 0.9 * height)
    far = 2.0 * float(target.size.max()) + width + height  # beyond any border, whatever the path does
    sides = ("left", "right", "top", "bottom")
    t = np.arange(length)
    base_x, base_y = target.cx.copy(), target.cy.copy()
    exits = []
    for plan in plans:
        start, duration, ramp_out, ramp_in = plan["start"], plan["duration"], plan["ramp_out"], plan["ramp_in"]
        back, middle = start + duration, start + duration // 2
        x0, y0, x1, y1 = (float(v) for v in (base_x[start], base_y[start], base_x[back], base_y[back]))
        out_side = min(sides, key=lambda side: _border_distance(x0, y0, side, config.frame_size))
        in_side = sides[(sides.index(out_side) + plan["turn"]) % 4]
        clearance = 0.8 * float(target.size[start - ramp_out:back + ramp_in + 1].max())
        out_amount = (_border_distance(x0, y0, out_side, config.frame_size) + clearance) * smooth_step(
            length, start - ramp_out, ramp_out)
        out_amount = np.where((t >= start) & (t < middle), out_amount + far, np.where(t < middle, out_amount, 0.0))
        in_amount = (_border_distance(x1, y1, in_side, config.frame_size) + clearance) * (
            1.0 - smooth_step(length, back, ramp_in))
        in_amount = np.where((t >= middle) & (t < back), in_amount + far, np.where(t >= middle, in_amount, 0.0))
        for side, amount in ((out_side, out_amount), (in_side, in_amount)):
            dx, dy = _side_push(side)
            target.cx += dx * amount
            target.cy += dy * amount
        exits.append({"start": start, "duration": duration, "out": out_side, "in": in_side,
                      "ramp_out": ramp_out, "ramp_in": ramp_in})
    return exits


def _long_term_events(rng: np.random.Generator, pool: AssetPool, target_sprite: Sprite, target: Layer, length: int,
                      config: SceneConfig, below: list[Layer], above: list[Layer], events: dict) -> None:
    """The long-term knobs of ``SceneConfig`` (exits with re-entry elsewhere, full occlusions, look-alikes).

    Draws nothing when all three are 0, so the sets of the other presets do not change.
    """
    if config.long_term_exits:
        events["re_entry_exits"] = _re_entry_exits(rng, target, length, config)
    for _ in range(int(config.full_occlusions)):
        layer = _crossing_layer(rng, pool.object(rng), "occluder", target, length, (2.0, 3.0), 0.0)
        _keep_start_clear(layer, target)
        above.append(layer)
    if config.full_occlusions:
        events["full_occlusions"] = int(config.full_occlusions)
    kinds = []
    for _ in range(int(config.look_alikes)):
        sprite, kind = _look_alike(rng, pool, target_sprite)
        layer = _wandering_layer(rng, sprite, "distractor", length, config,
                                 float(target.size[0]) * _uniform(rng, 0.8, 1.2))
        _keep_start_clear(layer, target)
        below.append(layer)
        kinds.append(kind)
    if kinds:
        events["look_alikes"] = kinds
