"""Reading and writing tracker result files in the community formats.

The formats are those other toolkits already write, so that results from pytracking,
the GOT-10k toolkit or the VOT toolkit can be scored here and ours there:

* boxes (OPE datasets, GOT-10k): one ``x,y,w,h`` line per frame. pytracking writes
  tab-separated integers and some trackers spaces, so any of ``,`` tab or blanks
  separate values on reading; we write commas. ``nan`` marks "no prediction".
  Locations: ``<results>/<seq>.txt`` (pytracking/OTB style) or
  ``<results>/<seq>/<seq>_001.txt`` (GOT-10k toolkit, repetitions ``_002`` ...).
* VOT runs: one region line per frame (see ``regions``) in
  ``<results>/<seq>/<seq>_<anchor:08d>.txt``, the layout vot-toolkit keeps for one
  tracker and experiment; per-frame times go next to it in ``..._time.value``. Like
  vot-toolkit, write ``1`` (the initialisation marker) as the first line of each run:
  the toolkit then scores that frame with overlap 0 in the accuracy, and so do we.
  vot-toolkit 0.9 writes the same runs as binary ``<seq>_<anchor:08d>.bin`` files
  unless ``VOT_RESULTS_BINARY=0``; ``read_vot_binary_trajectory`` reads those, and
  ``find_vot_result`` takes the ``.txt`` file first, as the toolkit does.
* times: one number (seconds) per line.
* presence (long-term, issue #22): next to a box file ``<seq>.txt`` (whose rows keep the
  last reported box while the target is reported absent, as GOT-10k/LaSOT expect a box
  on every line), ``<seq>_present.value`` holds ``1``/``0`` per frame and
  ``<seq>_confidence.value`` the presence confidence (blank for frame 0); ``.value`` as
  vot-toolkit's per-frame property files, so that tools reading every ``.txt`` of a
  results folder as a box file are not misled. VOT-LT runs
  follow vot-toolkit's unsupervised (long-term) experiment: ``<seq>/<seq>_001.txt`` with
  ``1`` on frame 0 and ``0`` (an empty region) where the target is reported absent, and
  ``<seq>/<seq>_001_confidence.value`` with one confidence per frame (blank for frame 0).

Every write is atomic (temporary file in the same folder, then ``os.replace``) so an
interrupted evaluation run never leaves a half-written result that a resumed run
would mistake for a finished one.
"""

from __future__ import annotations

import math
import os
import re
import secrets
import struct
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from trackerzoo.formats.paths import safe_name
from trackerzoo.formats.regions import (
    Mask,
    Polygon,
    Rectangle,
    Region,
    Special,
    format_region,
    parse_region,
    rle_decode,
)

_SEPARATORS = re.compile(r"[,\s]+")


def _create_temporary(target: Path) -> tuple[int, str]:
    """A new ``.<name>.<random>.tmp`` beside ``target``, opened for writing with mode ``0o666 & ~umask``."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        temporary = os.path.join(target.parent, f".{target.name}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(temporary, flags, 0o666), temporary
        except FileExistsError:
            continue
    raise FileExistsError(f"could not create a temporary file beside {os.fspath(target)!r}")


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see either the old file or the new one.

    The bytes go to a hidden ``.<name>.*.tmp`` file beside the target (flushed to disk),
    which is then renamed over it; an interrupted write leaves only that temporary,
    which ``trackerzoo eval`` removes on its next run. The file gets the permissions of
    any newly created file (``0o666`` less the process umask), not ``mkstemp``'s ``0o600``.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = _create_temporary(target)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """``write_bytes_atomic`` of ``text`` encoded as UTF-8."""
    write_bytes_atomic(path, text.encode("utf-8"))


def _format_number(value: float) -> str:
    if not math.isfinite(value):
        return "nan"
    if value == int(value):
        return str(int(value))
    return f"{value:.4f}".rstrip("0").rstrip(".")


def parse_number_line(line: str, *, source: str | os.PathLike, line_number: int, count: int | None = 4) -> list[float]:
    """Numbers of one annotation/result line; a malformed line names file and line number."""
    tokens = [token for token in _SEPARATORS.split(line.strip()) if token]
    try:
        values = [float(token) for token in tokens]
    except ValueError:
        raise ValueError(f"malformed line {line_number} in {os.fspath(source)!r}: {line.strip()[:80]!r}") from None
    if count is not None and len(values) != count:
        raise ValueError(f"line {line_number} in {os.fspath(source)!r} has {len(values)} values, "
                         f"expected {count}: {line.strip()[:80]!r}")
    return values


def read_box_file(path: str | os.PathLike, *, allow_empty_lines: bool = False) -> np.ndarray:
    """``[T, 4]`` float64 boxes from a one-box-per-line file (``,``/tab/space separated).

    A blank line is an error (it would silently shift every later frame) unless
    ``allow_empty_lines``, in which case it becomes a NaN row.
    """
    source = Path(path)
    if not source.is_file():
        raise FileNotFoundError(f"box file {os.fspath(path)!r} does not exist")
    rows: list[list[float]] = []
    lines = source.read_text(encoding="utf-8").splitlines()
    while lines and not lines[-1].strip():  # trailing newlines are not frames
        lines.pop()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            if allow_empty_lines:
                rows.append([math.nan] * 4)
                continue
            raise ValueError(f"empty line {number} in {os.fspath(path)!r}")
        rows.append(parse_number_line(line, source=path, line_number=number))
    return np.asarray(rows, dtype=np.float64).reshape(-1, 4)


def write_box_file(path: str | os.PathLike, boxes: np.ndarray) -> None:
    """Write ``[T, 4]`` boxes as ``x,y,w,h`` lines, atomically."""
    array = np.asarray(boxes, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != 4:
        raise ValueError(f"boxes to write to {os.fspath(path)!r} have shape {array.shape}, expected (T, 4)")
    text = "".join(",".join(_format_number(v) for v in row) + "\n" for row in array)
    write_text_atomic(path, text)


def read_region_file(path: str | os.PathLike) -> list[Region]:
    """VOT regions, one per line; a malformed line names file and line number."""
    source = Path(path)
    if not source.is_file():
        raise FileNotFoundError(f"region file {os.fspath(path)!r} does not exist")
    lines = source.read_text(encoding="utf-8").splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    return [parse_region(line, source=path, line=number) for number, line in enumerate(lines, start=1)]


def write_region_file(path: str | os.PathLike, regions: Iterable[Region]) -> None:
    write_region_lines(path, (format_region(region) for region in regions))


def write_region_lines(path: str | os.PathLike, lines: Iterable[str]) -> None:
    """Write VOT region lines already formatted by ``regions.format_region``, atomically."""
    write_text_atomic(path, "".join(line + "\n" for line in lines))


def read_vot_binary_trajectory(path: str | os.PathLike) -> list[Region]:
    """Regions of a vot-toolkit binary trajectory file (``.bin``, vot-toolkit 0.9).

    Little-endian layout: a header ``int16 version, uint32 count``, then per region a
    ``uint8`` type and its payload: 0 special (``uint32`` code), 1 rectangle (4
    ``float32`` x, y, w, h), 2 polygon (``uint16`` n, then 2n ``float32``), 3 mask
    (``int16`` x0, y0, ``uint16`` w, h, n, then n ``uint16`` runs in the row-major,
    zeros-first RLE of the text format). Raises ``FileNotFoundError`` for a missing
    file and ``ValueError`` naming the file and byte offset for a truncated or unknown
    record (including type 4, points, which no VOT box/mask stack produces).
    """
    source = Path(path)
    if not source.is_file():
        raise FileNotFoundError(f"trajectory file {os.fspath(path)!r} does not exist")
    data = source.read_bytes()
    offset = 0

    def take(layout: str) -> tuple:
        nonlocal offset
        size = struct.calcsize(layout)
        if offset + size > len(data):
            raise ValueError(f"{os.fspath(path)!r} ends at byte {len(data)} inside a record "
                             f"(needs {size} bytes at {offset})")
        values = struct.unpack_from(layout, data, offset)
        offset += size
        return values

    _version, count = take("<hI")
    regions: list[Region] = []
    for _ in range(count):
        start = offset
        (kind,) = take("<B")
        if kind == 0:
            regions.append(Special(take("<I")[0]))
        elif kind == 1:
            x, y, w, h = take("<4f")
            regions.append(Rectangle(x, y, w, h))
        elif kind == 2:
            (points,) = take("<H")
            values = np.asarray(take(f"<{2 * points}f"), dtype=np.float64)
            regions.append(Polygon(values.reshape(-1, 2)))
        elif kind == 3:
            x0, y0, width, height, runs = take("<hhHHH")
            regions.append(Mask(rle_decode(take(f"<{runs}H"), width, height), (x0, y0)))
        else:
            raise ValueError(f"unsupported region type {kind} at byte {start} of {os.fspath(path)!r}")
    if offset != len(data):
        raise ValueError(f"{os.fspath(path)!r} has {len(data) - offset} bytes after its {count} regions")
    return regions


def read_times(path: str | os.PathLike) -> np.ndarray:
    """Per-frame times in seconds (one per line); blank lines are NaN."""
    source = Path(path)
    lines = source.read_text(encoding="utf-8").splitlines()
    values = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            values.append(math.nan)
            continue
        values.append(parse_number_line(line, source=path, line_number=number, count=1)[0])
    return np.asarray(values, dtype=np.float64)


def write_times(path: str | os.PathLike, seconds: Iterable[float]) -> None:
    write_text_atomic(path, "".join(f"{float(t):.6f}\n" for t in seconds))


def write_values(path: str | os.PathLike, values: Iterable[float]) -> None:
    """One number per line (6 decimals), a blank line for NaN (vot-toolkit's "no value"), atomically."""
    write_text_atomic(path, "".join(f"{float(v):.6f}\n" if math.isfinite(float(v)) else "\n" for v in values))


def write_presence(path: str | os.PathLike, present: Iterable[bool]) -> None:
    """``1`` (target reported present) or ``0`` per line, atomically."""
    write_text_atomic(path, "".join("1\n" if flag else "0\n" for flag in present))


def read_presence(path: str | os.PathLike) -> np.ndarray:
    """``[T]`` bool from a ``write_presence`` file; any value but 0 and 1 is an error naming the line."""
    values = read_times(path)
    bad = np.flatnonzero(~np.isin(values, (0.0, 1.0)))
    if bad.size:
        raise ValueError(f"line {bad[0] + 1} of {os.fspath(path)!r} is not 0 or 1")
    return values.astype(bool)


# --------------------------------------------------------------------------- layouts
# Every builder below checks the sequence name with ``safe_name``, so that a name read
# from a data file can never place a result outside ``results_dir``.

def _checked(results_dir: str | os.PathLike, sequence: str) -> str:
    return safe_name(sequence, source=results_dir, what="sequence name for the results folder")


def box_result_path(results_dir: str | os.PathLike, sequence: str) -> Path:
    """Where we write a sequence's boxes: ``<results>/<seq>.txt``."""
    return Path(results_dir) / f"{_checked(results_dir, sequence)}.txt"


def box_time_path(results_dir: str | os.PathLike, sequence: str) -> Path:
    return Path(results_dir) / f"{_checked(results_dir, sequence)}_time.txt"


def find_box_results(results_dir: str | os.PathLike, sequence: str) -> list[Path]:
    """Result files of a sequence in either accepted layout (all GOT-10k repetitions).

    ``<results>/<seq>.txt`` wins when present; otherwise the GOT-10k toolkit layout
    ``<results>/<seq>/<seq>_NNN.txt`` (sorted by repetition) is used.
    """
    flat = box_result_path(results_dir, sequence)
    if flat.is_file():
        return [flat]
    folder = Path(results_dir) / _checked(results_dir, sequence)
    if folder.is_dir():
        pattern = re.compile(rf"{re.escape(sequence)}_(\d+)\.txt")
        return sorted(p for p in folder.iterdir() if pattern.fullmatch(p.name))
    return []


def presence_path(results_dir: str | os.PathLike, sequence: str) -> Path:
    """``<results>/<seq>_present.value``: 1/0 per frame, beside the box file."""
    return Path(results_dir) / f"{_checked(results_dir, sequence)}_present.value"


def confidence_path(results_dir: str | os.PathLike, sequence: str) -> Path:
    """``<results>/<seq>_confidence.value``: the presence confidence per frame (blank for frame 0)."""
    return Path(results_dir) / f"{_checked(results_dir, sequence)}_confidence.value"


def vot_lt_result_path(results_dir: str | os.PathLike, sequence: str, repetition: int = 1) -> Path:
    """``<results>/<seq>/<seq>_<repetition:03d>.txt``: a run of vot-toolkit's unsupervised (long-term) experiment."""
    name = _checked(results_dir, sequence)
    return Path(results_dir) / name / f"{name}_{repetition:03d}.txt"


def vot_lt_confidence_path(results_dir: str | os.PathLike, sequence: str, repetition: int = 1) -> Path:
    """``<results>/<seq>/<seq>_<repetition:03d>_confidence.value``, the toolkit's per-frame confidence property."""
    return vot_lt_result_path(results_dir, sequence, repetition).with_name(
        f"{_checked(results_dir, sequence)}_{repetition:03d}_confidence.value")


def write_vot_lt_run(results_dir: str | os.PathLike, sequence: str, regions: Iterable[Region],
                     confidence: Iterable[float], repetition: int = 1) -> Path:
    """Write one long-term run the way vot-toolkit's unsupervised experiment stores it; returns the region file.

    ``regions``: one per frame (``INITIALIZATION`` first, ``Special(0)`` where the target
    is reported absent); ``confidence``: one per frame (NaN -> blank line, as frame 0).
    The confidence file is written first, the region file last (its existence marks the
    run complete). Raises ``ValueError`` when the two lengths differ.
    """
    regions, confidence = list(regions), list(confidence)
    if len(regions) != len(confidence):
        raise ValueError(f"{len(regions)} regions for {len(confidence)} confidences")
    write_values(vot_lt_confidence_path(results_dir, sequence, repetition), confidence)
    target = vot_lt_result_path(results_dir, sequence, repetition)
    write_region_file(target, regions)
    return target


def vot_run_name(sequence: str, anchor: int) -> str:
    return f"{safe_name(sequence, source='a VOT run', what='sequence name')}_{anchor:08d}"


def vot_result_path(results_dir: str | os.PathLike, sequence: str, anchor: int) -> Path:
    """``<results>/<seq>/<seq>_<anchor:08d>.txt`` as vot-toolkit stores a multistart run."""
    return Path(results_dir) / _checked(results_dir, sequence) / f"{vot_run_name(sequence, anchor)}.txt"


def find_vot_result(results_dir: str | os.PathLike, sequence: str, anchor: int) -> Path | None:
    """The run file of ``sequence``/``anchor``: ``.txt`` when present, else ``.bin``, else None."""
    text = vot_result_path(results_dir, sequence, anchor)
    if text.is_file():
        return text
    binary = text.with_suffix(".bin")
    return binary if binary.is_file() else None


def read_vot_result(path: str | os.PathLike) -> list[Region]:
    """Regions of a VOT run file, text (``.txt``) or vot-toolkit binary (``.bin``)."""
    if Path(path).suffix == ".bin":
        return read_vot_binary_trajectory(path)
    return read_region_file(path)


def vot_time_path(results_dir: str | os.PathLike, sequence: str, anchor: int) -> Path:
    return Path(results_dir) / _checked(results_dir, sequence) / f"{vot_run_name(sequence, anchor)}_time.value"
