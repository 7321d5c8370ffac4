"""``convert`` is bounded (issue #20, item 2): hostile checkpoints are refused before they allocate.

The hostile files are written here, small: a hand-assembled pickle whose tensor views a
6-float storage with zero strides as 2**14 x 2**15 elements (2 GiB as a copy), views
reaching outside their storage, a zip whose record inflates far beyond its compressed
size, a legacy file with an absurd element count, modules nested without end. Each
must be a ``ValueError`` naming the file and the reason, and a legitimate checkpoint
must still convert, its views sharing one storage.
"""

from __future__ import annotations

import pickle
import struct
import zipfile
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from trackerzoo.cli.main import main as cli_main
from trackerzoo.weights import convert_checkpoint, read_checkpoint
from trackerzoo.weights.unpickler import COMPRESSION_FLOOR, MAX_COMPRESSION_RATIO


def _unicode(text: str) -> bytes:
    data = text.encode("utf-8")
    return b"X" + struct.pack("<I", len(data)) + data


def _int(value: int) -> bytes:
    if -(2 ** 31) <= value < 2 ** 31:
        return b"J" + struct.pack("<i", value)
    return b"\x8a\x08" + struct.pack("<q", value)  # LONG1 with 8 bytes


def _tuple(values: list[int]) -> bytes:
    return b"(" + b"".join(_int(v) for v in values) + b"t"


def tensor_pickle(entries: dict[str, tuple[str, int, int, list[int], list[int]]],
                  storage_type: str = "FloatStorage") -> bytes:
    """Protocol-2 pickle of ``{name: _rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())}``.

    ``entries[name] = (storage key, storage elements, offset, size, stride)``; written
    opcode by opcode, as a hostile file would be, so no real tensor is ever built.
    """
    out = [b"\x80\x02}"]
    for name, (key, numel, offset, size, stride) in entries.items():
        out.append(_unicode(name))
        out.append(b"ctorch._utils\n_rebuild_tensor_v2\n(")
        out.append(b"(" + _unicode("storage") + f"ctorch\n{storage_type}\n".encode() + _unicode(key)
                   + _unicode("cpu") + _int(numel) + b"tQ")
        out.append(_int(offset) + _tuple(size) + _tuple(stride) + b"\x89")
        out.append(b"ccollections\nOrderedDict\n)R")
        out.append(b"tR")
        out.append(b"s")
    out.append(b".")
    return b"".join(out)


def write_zip_checkpoint(path: Path, pickled: bytes, storages: dict[str, bytes],
                         compression: int = zipfile.ZIP_STORED) -> Path:
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        archive.writestr("archive/data.pkl", pickled)
        archive.writestr("archive/byteorder", "little")
        for key, data in storages.items():
            archive.writestr(f"archive/data/{key}", data)
    return path


SIX_FLOATS = struct.pack("<6f", *range(6))


def test_hand_written_pickle_is_a_valid_checkpoint(tmp_path):
    """Control: the hand-assembled format is read as torch writes it."""
    path = write_zip_checkpoint(tmp_path / "ok.pth", tensor_pickle({"w": ("0", 6, 1, [2, 2], [2, 1])}),
                                {"0": SIX_FLOATS})
    tensors = read_checkpoint(path).tensors
    assert torch.equal(tensors["w"], torch.tensor([[1.0, 2.0], [3.0, 4.0]]))


def test_zero_stride_view_over_a_tiny_storage_is_refused(tmp_path):
    """The reported file: shape (2**14, 2**15) over 6 floats with zero strides."""
    path = write_zip_checkpoint(tmp_path / "bomb.pth",
                                tensor_pickle({"w": ("0", 6, 0, [2 ** 14, 2 ** 15], [0, 0])}), {"0": SIX_FLOATS})
    assert path.stat().st_size < 2048
    with pytest.raises(ValueError, match=r"bomb\.pth.*view 536,870,912 elements.*hold only 6"):
        read_checkpoint(path)


def test_many_full_views_of_one_storage_are_refused(tmp_path):
    """Each view fits its storage, but together they would copy it a thousand times."""
    numel = 1 << 16
    entries = {f"w{i}": ("0", numel, 0, [numel], [1]) for i in range(1000)}
    path = write_zip_checkpoint(tmp_path / "many.pth", tensor_pickle(entries), {"0": bytes(4 * numel)})
    with pytest.raises(ValueError, match=r"many\.pth.*elements"):
        read_checkpoint(path)


@pytest.mark.parametrize(("offset", "size", "stride", "reason"), [
    (6, [1], [1], "beyond the 6 elements"),
    (0, [7], [1], "beyond the 6 elements"),
    (0, [3, 2], [3, 1], "beyond the 6 elements"),
    (2 ** 40, [1], [1], "beyond the 6 elements"),
    (0, [2], [-1], "negative size or stride"),
    (0, [-2], [1], "negative size or stride"),
    (0, [2, 2], [1], "2 sizes but 1 strides"),
])
def test_views_outside_their_storage_are_refused(tmp_path, offset, size, stride, reason):
    path = write_zip_checkpoint(tmp_path / "outside.pth", tensor_pickle({"w": ("0", 6, offset, size, stride)}),
                                {"0": SIX_FLOATS})
    with pytest.raises(ValueError, match=rf"outside\.pth.*{reason}"):
        read_checkpoint(path)


def test_storage_declaring_more_than_its_record_is_refused(tmp_path):
    """The pickle claims 2**40 floats; the record holds 24 bytes: refused before anything is read."""
    path = write_zip_checkpoint(tmp_path / "liar.pth", tensor_pickle({"w": ("0", 2 ** 40, 0, [2 ** 40], [1])}),
                                {"0": SIX_FLOATS})
    with pytest.raises(ValueError, match=r"liar\.pth.*record 'archive/data/0' holds 24 bytes"):
        read_checkpoint(path)


def test_zip_record_inflating_beyond_the_ratio_is_refused(tmp_path):
    numel = (COMPRESSION_FLOOR // 4) * 2  # zeros: deflate shrinks them about a thousand times
    path = write_zip_checkpoint(tmp_path / "zipbomb.pth", tensor_pickle({"w": ("0", numel, 0, [numel], [1])}),
                                {"0": bytes(4 * numel)}, compression=zipfile.ZIP_DEFLATED)
    info = zipfile.ZipFile(path).getinfo("archive/data/0")
    assert info.file_size > MAX_COMPRESSION_RATIO * info.compress_size
    with pytest.raises(ValueError, match=r"zipbomb\.pth.*inflates from .* zip bomb"):
        read_checkpoint(path)


def test_compressed_record_within_the_ratio_is_read(tmp_path):
    values = torch.randn(1 << 19)  # random floats barely compress
    numel = values.numel()
    path = write_zip_checkpoint(tmp_path / "deflated.pth", tensor_pickle({"w": ("0", numel, 0, [numel], [1])}),
                                {"0": values.numpy().tobytes()}, compression=zipfile.ZIP_DEFLATED)
    assert torch.equal(read_checkpoint(path).tensors["w"], values)


def _legacy(tmp_path: Path) -> Path:
    path = tmp_path / "legacy.pth"
    torch.save({"w": torch.arange(6.0)}, path, _use_new_zipfile_serialization=False)
    return path


def test_legacy_file_with_an_absurd_element_count_is_refused(tmp_path):
    path = _legacy(tmp_path)
    data = bytearray(path.read_bytes())
    count = struct.pack("<q", 6)
    position = data.rindex(count)  # the element count in front of the storage bytes
    data[position:position + 8] = struct.pack("<q", 2 ** 60)
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"legacy\.pth.*declared with 6 elements.*says 1,152,921,504,606,846,976"):
        read_checkpoint(path)


def test_truncated_legacy_file_is_refused(tmp_path):
    path = _legacy(tmp_path)
    path.write_bytes(path.read_bytes()[:-8])
    with pytest.raises(ValueError, match=r"legacy\.pth.*truncated"):
        read_checkpoint(path)


def test_legacy_file_reads_and_views_share_storage(tmp_path):
    path = tmp_path / "shared.pth"
    base = torch.arange(12.0)
    torch.save({"a": base, "b": base[2:8].view(2, 3), "c": base[::3]}, path, _use_new_zipfile_serialization=False)
    tensors = read_checkpoint(path).tensors
    assert torch.equal(tensors["b"], base[2:8].view(2, 3)) and torch.equal(tensors["c"], base[::3])
    pointers = {t.untyped_storage().data_ptr() for t in tensors.values()}
    assert len(pointers) == 1


def test_zip_views_share_their_storage_instead_of_copying(tmp_path):
    path = tmp_path / "views.pth"
    base = torch.randn(4, 5)
    torch.save({"a": base, "b": base[1], "c": base.t()}, path)
    tensors = read_checkpoint(path).tensors
    assert torch.equal(tensors["c"], base.t()) and torch.equal(tensors["b"], base[1])
    assert len({t.untyped_storage().data_ptr() for t in tensors.values()}) == 1
    convert_checkpoint(path, tmp_path / "views.safetensors", tracker="plain", fp16=False)  # still writable


class _Deep:
    """Pickles as a module (``_modules`` in its state); unpickled as an inert placeholder."""

    def __init__(self, child=None):
        self.child = child

    def __reduce__(self):
        modules = {} if self.child is None else {"inner": self.child}
        return (_Deep, (), {"_parameters": {"w": torch.ones(1)}, "_buffers": {}, "_modules": modules})


def _chain(levels: int) -> _Deep:
    module = None
    for _ in range(levels):
        module = _Deep(module)
    return module


def _diamonds(levels: int) -> _Twice:
    """Every level names the level below twice: 2**levels paths through ``levels`` objects."""
    module = _Deep()
    for _ in range(levels):
        module = _Twice(module)
    return module


@pytest.mark.parametrize(("module", "reason"), [
    (lambda: _chain(150), "nest deeper than 100 levels"),
    (lambda: _diamonds(40), "more than 100,000 sub-modules"),
], ids=["nested-without-end", "shared-children"])
def test_module_graphs_that_would_not_end_are_refused(tmp_path, module, reason):
    path = tmp_path / "graph.pth"
    torch.save(module(), path)
    with pytest.raises(ValueError, match=rf"graph\.pth.*{reason}"):
        read_checkpoint(path)


class _Twice:
    def __init__(self, child):
        self.child = child

    def __reduce__(self):
        return (_Twice, (), {"_parameters": {}, "_buffers": {}, "_modules": {"a": self.child, "b": self.child}})


def test_not_a_pickle_and_a_safetensors_file_name_the_file(tmp_path, capsys):
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(ValueError, match=r"garbage\.pth could not be read as a PyTorch checkpoint"):
        read_checkpoint(garbage)
    weights = tmp_path / "model.safetensors"
    save_file({"w": torch.ones(2)}, str(weights))
    with pytest.raises(ValueError, match=r"model\.safetensors is a safetensors file.*needs no conversion"):
        read_checkpoint(weights)
    truncated_zip = tmp_path / "cut.pth"
    torch.save({"w": torch.ones(1000)}, truncated_zip)
    truncated_zip.write_bytes(truncated_zip.read_bytes()[:300])
    with pytest.raises(ValueError, match=r"cut\.pth"):
        read_checkpoint(truncated_zip)
    # The CLI prints one line naming the file, no traceback.
    assert cli_main(["convert", str(weights), "--tracker", "plain", "--out", str(tmp_path / "x.safetensors")]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "model.safetensors" in error


def test_pickle_bytes_are_refused_by_torch_as_well():
    """The hand-written pickle is a real pickle (sanity check of the helper)."""
    with pytest.raises(pickle.UnpicklingError):
        pickle.loads(tensor_pickle({"w": ("0", 6, 0, [1], [1])}))  # persistent ids need a loader


def test_keys_nested_too_deeply_are_refused(tmp_path):
    """A key nested 200,000 deep: hashing it would crash CPython, so it is refused before it is built."""
    path = tmp_path / "nested.pth"
    with zipfile.ZipFile(path, "w") as archive:
        pickled = tensor_pickle({"w": ("0", 6, 0, [6], [1])})
        nested = b")" + b"\x85" * 200_000  # EMPTY_TUPLE, then TUPLE1 around it 200,000 times
        archive.writestr("archive/data.pkl", pickled[:-1] + nested + b"J\x01\x00\x00\x00s.")
        archive.writestr("archive/data/0", SIX_FLOATS)
    with pytest.raises(ValueError, match=r"nested\.pth.*nest deeper than 1000 levels"):
        read_checkpoint(path)


def test_wide_state_dicts_are_not_mistaken_for_deep_ones(tmp_path):
    """Thousands of keys (filled in by SETITEMS batches) and a deep real module stay readable."""
    path = tmp_path / "wide.pth"
    torch.save({f"layer{i}.weight": torch.full((2,), float(i)) for i in range(5000)}, path)
    assert len(read_checkpoint(path).tensors) == 5000
    module = torch.nn.Linear(1, 1)
    for _ in range(60):
        module = torch.nn.Sequential(module)
    torch.save(module, tmp_path / "deep_ok.pth")
    assert len(read_checkpoint(tmp_path / "deep_ok.pth").tensors) == 2
