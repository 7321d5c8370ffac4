"""Building a whole composited data set: sequence seeds, workers, presets, metadata.

Sequence ``i`` of a set with seed ``s`` is drawn from ``numpy.random.default_rng([s, i])``
alone, so it does not depend on how many sequences the set has, on the order in which
workers finish, or on whether the run was interrupted and resumed.
"""

from __future__ import annotations

import concurrent.futures
import json
import multiprocessing
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from trackerzoo.datasets.synthetic.assets import SPLITS, load_index
from trackerzoo.datasets.synthetic.pools import AssetPool, FilePool, ProceduralPool
from trackerzoo.datasets.synthetic.render import FrameTruth, render_frames
from trackerzoo.datasets.synthetic.scene import Scene, SceneConfig, plan_scene
from trackerzoo.datasets.synthetic.writers import SequenceWriter, sequence_done, write_lists

METADATA_NAME = "synthetic.json"
GENERATOR_VERSION = 1


@dataclass(frozen=True)
class DatasetSpec:
    """Everything that determines a generated set (and nothing that does not)."""

    sequences: int
    frames: tuple[int, int]  # inclusive range of sequence lengths
    seed: int
    split: str = "train"
    procedural: bool = False
    config: SceneConfig = field(default_factory=SceneConfig)
    prefix: str = "synth"

    def __post_init__(self) -> None:
        if self.sequences < 1:
            raise ValueError(f"number of sequences must be >= 1, got {self.sequences}")
        low, high = self.frames
        if not 2 <= low <= high:
            raise ValueError(f"frames {self.frames} must satisfy 2 <= min <= max")
        if self.split not in SPLITS:
            raise ValueError(f"unknown split {self.split!r}; expected one of {SPLITS}")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")

    def name_of(self, index: int) -> str:
        return f"{self.prefix}-{index:04d}"


PRESETS: dict[str, DatasetSpec] = {
    # The fixed benchmark of the README: held-out cut-outs and backgrounds only.
    "zoo-synth-val": DatasetSpec(sequences=60, frames=(150, 300), seed=20261121, split="val", prefix="zsv"),
    # Held-out too, every target walking with a look-alike companion from frame 0: measures
    # what groups of similar objects (pedestrians in pairs) do to a tracker.
    "zoo-synth-val-pairs": DatasetSpec(sequences=30, frames=(150, 300), seed=20261122, split="val", prefix="zsp",
                                       config=SceneConfig(p_companion=1.0)),
    # The same with the companion shoulder to shoulder (offset in target widths, not sizes):
    # thin targets touching a look-alike, as the people walking in pairs of the demo clip.
    "zoo-synth-val-close-pairs": DatasetSpec(sequences=30, frames=(150, 300), seed=20261123, split="val",
                                             prefix="zsc",
                                             config=SceneConfig(p_companion=1.0, companion_spacing="extent")),
    # Long-term (issue #22): held-out, 600-1000 frames, two exits of 40-120 frames with
    # re-entry through another border elsewhere, a full occlusion, crossing look-alikes
    # and one look-alike wandering through the whole sequence; ground-truth absence in
    # absence.label / empty VOT regions. 12 sequences keep an evaluation within CPU reach.
    "zoo-synth-lt": DatasetSpec(sequences=12, frames=(600, 1000), seed=20261201, split="val", prefix="zlt",
                                config=SceneConfig(p_exit=0.0, p_occluder=1.0, p_distractor=1.0,
                                                   long_term_exits=2, full_occlusions=1, look_alikes=1)),
    # Presence calibration (issue #22, ``trackerzoo calibrate``): scenes like zoo-synth-lt's
    # (exits, a full occlusion, look-alikes) but from the *training* cut-outs and backgrounds,
    # so a calibration fitted on it is never fitted on a benchmark.
    "zoo-synth-calib": DatasetSpec(sequences=3, frames=(450, 600), seed=20261202, split="train", prefix="zcal",
                                   config=SceneConfig(p_exit=0.0, p_occluder=1.0, p_distractor=1.0,
                                                      long_term_exits=2, full_occlusions=1, look_alikes=1)),
}


def preset(name: str) -> DatasetSpec:
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; presets: {', '.join(sorted(PRESETS))}") from None


def make_pool(spec: DatasetSpec, assets_dir: Path | None = None) -> AssetPool:
    if spec.procedural:
        return ProceduralPool()
    return FilePool(load_index(spec.split, assets_dir))


def plan_sequence(spec: DatasetSpec, index: int, pool: AssetPool) -> Scene:
    rng = np.random.default_rng([spec.seed, index])
    length = int(rng.integers(spec.frames[0], spec.frames[1] + 1))
    return plan_scene(pool, rng, length, spec.config)


def generate_sequence(
    spec: DatasetSpec, index: int, pool: AssetPool | None = None
) -> tuple[Scene, Iterator[FrameTruth]]:
    """The scene of sequence ``index`` and an iterator over its rendered frames."""
    scene = plan_sequence(spec, index, pool or make_pool(spec))
    return scene, render_frames(scene)


def _describe(scene: Scene) -> str:
    target = scene.events.get("target", "object")
    return Path(str(target)).stem.replace("_", " ")


def write_sequence(spec: DatasetSpec, index: int, root: Path, pool: AssetPool, jpeg_quality: int = 90) -> dict:
    """Render and write sequence ``index`` (both layouts); returns its metadata entry."""
    name = spec.name_of(index)
    scene, frames = generate_sequence(spec, index, pool)
    writer = SequenceWriter(root, name, spec.config.frame_size, jpeg_quality)
    try:
        for truth in frames:
            writer.add(truth)
        anchors = writer.finish(camera_motion=bool(scene.events.get("camera_motion")), description=_describe(scene))
    except BaseException:
        writer.abort()
        raise
    return {"name": name, "index": index, "frames": scene.length, "anchors": anchors, "events": scene.events}


_worker_pool: AssetPool | None = None


def _worker_write(spec: DatasetSpec, index: int, root: str, assets_dir: str | None, jpeg_quality: int) -> dict:
    global _worker_pool
    if _worker_pool is None:
        import cv2

        cv2.setNumThreads(1)
        _worker_pool = make_pool(spec, Path(assets_dir) if assets_dir else None)
    return write_sequence(spec, index, Path(root), _worker_pool, jpeg_quality)


def _metadata_entry_path(root: Path, name: str) -> Path:
    return root / ".meta" / f"{name}.json"


def build_dataset(spec: DatasetSpec, out: str | os.PathLike, *, workers: int = 1, assets_dir: Path | None = None,
                  jpeg_quality: int = 90, progress: bool = True) -> Path:
    """Generate (or finish generating) the set ``spec`` under ``out``; returns ``out``."""
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    metadata_path = root / METADATA_NAME
    spec_record = _spec_record(spec)
    if metadata_path.is_file():
        existing = json.loads(metadata_path.read_text())
        if _with_config_defaults(existing.get("spec")) != spec_record:
            raise ValueError(f"{str(root)!r} already holds a different generated set; choose another --out")
    pool = make_pool(spec, assets_dir)  # validates assets before any work starts
    pending = [i for i in range(spec.sequences)
               if not (sequence_done(root, spec.name_of(i)) and _metadata_entry_path(root, spec.name_of(i)).is_file())]
    (root / ".meta").mkdir(exist_ok=True)

    def record(entry: dict) -> None:
        _metadata_entry_path(root, entry["name"]).write_text(json.dumps(entry, default=_json_default))

    from tqdm import tqdm

    bar = tqdm(total=spec.sequences, initial=spec.sequences - len(pending), unit="seq", disable=not progress,
               desc=f"make-dataset {root.name}")
    if workers <= 1:
        for index in pending:
            record(write_sequence(spec, index, root, pool, jpeg_quality))
            bar.update()
    else:
        context = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as executor:
            futures = [executor.submit(_worker_write, spec, i, str(root),
                                       str(assets_dir) if assets_dir else None, jpeg_quality) for i in pending]
            for future in concurrent.futures.as_completed(futures):
                record(future.result())
                bar.update()
    bar.close()
    names = [spec.name_of(i) for i in range(spec.sequences)]
    entries = [json.loads(_metadata_entry_path(root, name).read_text()) for name in names]
    write_lists(root, names)
    metadata = {
        "generator": "trackerzoo.datasets.synthetic",
        "version": GENERATOR_VERSION,
        "spec": spec_record,
        "assets": None if spec.procedural else {"packages": pool.index.packages,
                                               "fingerprint": pool.index.fingerprint},
        "sequences": entries,
    }
    tmp = metadata_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(metadata, indent=1, default=_json_default))
    os.replace(tmp, metadata_path)
    return root


def _with_config_defaults(record: dict | None) -> dict | None:
    """A stored spec with the generator knobs added since it was written set to their defaults.

    New knobs default to "off" and leave the drawn sequences unchanged, so a set written
    before them is the same set and may be resumed.
    """
    if not isinstance(record, dict) or not isinstance(record.get("config"), dict):
        return record
    defaults = json.loads(json.dumps(asdict(SceneConfig()), default=_json_default))
    return {**record, "config": {**defaults, **record["config"]}}


def _spec_record(spec: DatasetSpec) -> dict:
    return json.loads(json.dumps(asdict(spec), default=_json_default))


def _json_default(value: object) -> object:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")
