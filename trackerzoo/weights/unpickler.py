"""Read tensors out of pickled PyTorch checkpoints without running any of their code.

Official tracking checkpoints are pickles. pytracking's also pickle the constructor
object of the network (``ltr.models...``), so ``torch.load(weights_only=True)``
refuses them, and ``torch.load(weights_only=False)`` would import and run whatever
the file names: a checkpoint from the internet could execute arbitrary code.

This reader never imports anything. ``find_class`` answers from a short allow-list of
inert callables (our own tensor rebuild functions, ``OrderedDict``, torch dtypes,
``torch.Size``, a few pure builtins); every other class or function the pickle names
becomes a fresh ``Placeholder`` subclass that merely records what it is given. So a
``__reduce__`` pointing at ``os.system`` yields an inert placeholder, and a foreign
``__setstate__`` never runs because the foreign class is never imported.

Tensors come back as ``PendingTensor`` records (storage key, dtype, offset, size,
stride) and are materialised from the raw storage bytes only when asked for. That is
what the legacy (pre-1.6, non-zip) format needs anyway, since its storage bytes follow
the pickle, and it keeps the rebuild logic our own.

Both formats are read: the zip format (``archive/data.pkl`` + ``archive/data/<key>``)
and the legacy format (magic number, protocol, system info, pickle, storage keys,
then each storage as an int64 element count followed by its bytes).

What a checkpoint may make us allocate is bounded, so that a small hostile file cannot
take gigabytes: every tensor's offset, sizes and strides must stay inside the storage
it views; all tensors together may hold at most ``MAX_VIEW_ELEMENT_RATIO`` times the
elements of the storages (plus ``ELEMENT_SLACK``), so zero-stride views cannot blow a
few bytes up; every storage must hold exactly the bytes it declares, and those bytes
must be in the file (a zip record may inflate at most ``MAX_COMPRESSION_RATIO`` times);
tensors are views sharing their storage's memory rather than copies. Every refusal is
a ``ValueError`` naming the file and the reason.
"""

from __future__ import annotations

import builtins
import collections
import dataclasses
import io
import math
import os
import pickle
import pickletools
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import torch

LEGACY_MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
# Storage class names as pickled by torch (``torch.FloatStorage`` ...) and their dtypes.
STORAGE_DTYPES: dict[str, torch.dtype] = {
    "DoubleStorage": torch.float64,
    "FloatStorage": torch.float32,
    "HalfStorage": torch.float16,
    "BFloat16Storage": torch.bfloat16,
    "LongStorage": torch.int64,
    "IntStorage": torch.int32,
    "ShortStorage": torch.int16,
    "CharStorage": torch.int8,
    "ByteStorage": torch.uint8,
    "BoolStorage": torch.bool,
    "ComplexFloatStorage": torch.complex64,
    "ComplexDoubleStorage": torch.complex128,
    "UntypedStorage": torch.uint8,  # raw bytes; ``_rebuild_tensor_v3`` names the dtype
}
# torch dtypes by attribute name, read once with vars() so that no lazy torch submodule
# is imported while a checkpoint names attributes.
TORCH_DTYPES: dict[str, torch.dtype] = {name: v for name, v in vars(torch).items() if isinstance(v, torch.dtype)}
SAFE_BUILTINS = {"set", "frozenset", "slice", "complex", "int", "float", "bool", "str"}

# Bounds on what a checkpoint may make us allocate (see the module docstring).
MAX_VIEW_ELEMENT_RATIO = 4  # tensor elements / storage elements, over the whole file
ELEMENT_SLACK = 1 << 20  # elements any file may view beyond that ratio (tiny checkpoints)
MAX_COMPRESSION_RATIO = 100  # uncompressed / compressed size of one zip record ...
COMPRESSION_FLOOR = 1 << 20  # ... checked for records inflating to more than this many bytes
MAX_TENSOR_DIMENSIONS = 64
# How deeply the objects of one pickle may nest. A state dict nests a few levels, a whole
# pickled network some hundreds at most; a tuple nested ~100,000 deep crashes CPython
# (its hash recurses without a limit) the moment the unpickler uses it as a dict key.
MAX_PICKLE_DEPTH = 1000


class CheckpointError(ValueError):
    """A checkpoint that is malformed or exceeds the allocation bounds; ``restricted_load``
    prefixes the file name."""


# Opcodes that put items into an object already on the stack (list, dict, set, state).
_FILLING_OPCODES = frozenset({"APPEND", "APPENDS", "SETITEM", "SETITEMS", "ADDITEMS", "BUILD"})


def check_pickle_depth(stream: BinaryIO, limit: int = MAX_PICKLE_DEPTH) -> None:
    """Refuse a pickle whose objects nest deeper than ``limit``, before any object is built.

    Walks the opcodes (``pickletools.genops``) tracking only each stack item's nesting
    depth: a container built from items is one deeper than its deepest item, and the
    memo keeps depths for shared objects. The stream is put back where it started.
    Raises ``CheckpointError``; malformed opcodes raise ``ValueError`` from ``pickletools``.
    """
    start = stream.tell()
    depths: list[int] = []
    marks: list[int] = []
    memo: dict[Any, int] = {}
    for opcode, argument, _ in pickletools.genops(stream):
        name = opcode.name
        if name == "MARK":
            marks.append(len(depths))
            continue
        if name in ("PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE"):
            memo[argument if name != "MEMOIZE" else len(memo)] = depths[-1] if depths else 0
            continue
        if name in ("GET", "BINGET", "LONG_BINGET"):
            depths.append(memo.get(argument, 0))
            continue
        before = opcode.stack_before
        if pickletools.markobject in before:
            cut = marks.pop() if marks else len(depths)
            below = before.index(pickletools.markobject)  # consumed items under the mark (APPENDS' list)
            cut = max(cut - below, 0)
        else:
            cut = max(len(depths) - len(before), 0)
        consumed, depths[cut:] = depths[cut:], []
        if name in _FILLING_OPCODES and consumed:  # items go into the object below them, which stays itself
            depth = max(consumed[0], 1 + max(consumed[1:], default=-1))
        else:
            depth = 1 + max(consumed) if consumed else 0
        if depth > limit:
            raise CheckpointError(f"its objects nest deeper than {limit} levels")
        depths.extend([depth] * len(opcode.stack_after))
    stream.seek(start)


def _element_size(dtype: torch.dtype) -> int:
    return torch.empty((), dtype=dtype).element_size()


class Placeholder:
    """An inert stand-in for a class or function named in a checkpoint.

    It accepts any construction, state and items and keeps them (so tensors nested in,
    e.g., a pickled ``nn.Module`` can still be found) but has no behaviour at all.
    """

    origin = "<unknown>"

    def __new__(cls, *args: Any, **kwargs: Any) -> Placeholder:
        return super().__new__(cls)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.__dict__["placeholder_args"] = args
        self.__dict__["placeholder_kwargs"] = kwargs
        self.__dict__["placeholder_state"] = None
        self.__dict__["placeholder_items"] = []

    def __setstate__(self, state: Any) -> None:
        self.__dict__.setdefault("placeholder_items", [])
        self.__dict__["placeholder_state"] = state

    def __setitem__(self, key: Any, value: Any) -> None:
        self.__dict__.setdefault("placeholder_items", []).append((key, value))

    def append(self, value: Any) -> None:
        self.__dict__.setdefault("placeholder_items", []).append((None, value))

    def extend(self, values: Any) -> None:
        for value in values:
            self.append(value)

    def __call__(self, *args: Any, **kwargs: Any) -> Placeholder:
        return type(self)(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<placeholder for {self.origin}>"


@dataclasses.dataclass(frozen=True)
class StorageType:
    """What ``find_class`` returns for ``torch.FloatStorage`` and friends."""

    name: str
    dtype: torch.dtype


@dataclasses.dataclass
class StorageRef:
    """A storage named by a persistent id; its bytes arrive from the archive or file.

    Legacy files may also name a view into another storage (``base``); its bytes are
    those of the base, starting ``element_offset`` elements in.
    """

    key: str
    dtype: torch.dtype
    numel: int
    element_offset: int = 0
    data: bytes | None = None
    base: StorageRef | None = None

    _flat: torch.Tensor | None = dataclasses.field(default=None, repr=False)

    def payload(self) -> bytes | None:
        return self.base.payload() if self.base is not None else self.data

    def flat(self) -> torch.Tensor:
        """The storage as one 1-D tensor, built once and shared by every tensor viewing it."""
        if self.base is not None:
            return self.base.flat()
        if self._flat is None:
            if self.data is None:
                raise CheckpointError(f"checkpoint storage {self.key!r} has no data")
            element = _element_size(self.dtype)
            if len(self.data) != self.numel * element:
                raise CheckpointError(f"storage {self.key!r} holds {len(self.data)} bytes, "
                                      f"not the {self.numel} x {element} it declares")
            self._flat = (torch.frombuffer(bytearray(self.data), dtype=self.dtype) if self.data
                          else torch.empty(0, dtype=self.dtype))
            self.data = None  # the tensor owns a copy of the bytes now; keep one copy only
        return self._flat


@dataclasses.dataclass
class PendingTensor:
    """A tensor the pickle describes, built from its storage bytes on ``materialize``."""

    storage: StorageRef
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]
    dtype: torch.dtype

    def materialize(self) -> torch.Tensor:
        """A view into the storage's shared tensor (no copy); bounds were checked when unpickled.

        A tensor whose dtype differs from its storage's (``_rebuild_tensor_v3`` over an
        untyped storage) reinterprets the storage bytes.
        """
        flat = self.storage.flat()
        if flat.dtype != self.dtype:
            if (flat.numel() * flat.element_size()) % _element_size(self.dtype):
                raise CheckpointError(f"storage {self.storage.key!r} holds {flat.numel() * flat.element_size()} "
                                      f"bytes, not a whole number of {self.dtype} elements")
            flat = flat.view(torch.uint8).view(self.dtype)
        offset = self.offset + self.storage.element_offset
        try:
            return torch.as_strided(flat, self.size, self.stride, offset)
        except RuntimeError as exc:
            raise CheckpointError(f"tensor in storage {self.storage.key!r} does not fit its storage: {exc}") from None


def _int_tuple(value: Any, what: str) -> tuple[int, ...]:
    if not isinstance(value, tuple | list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise CheckpointError(f"checkpoint tensor {what} must be a tuple of ints, got {value!r}")
    return tuple(value)


def view_element_count(size: tuple[int, ...]) -> int:
    """Elements of a tensor of shape ``size`` (exact, whatever its magnitude)."""
    return math.prod(size)


def _check_view(storage: StorageRef, offset: int, size: tuple[int, ...], stride: tuple[int, ...],
                dtype: torch.dtype) -> None:
    """Offset, sizes and strides must describe a view inside ``storage`` (in ``dtype`` elements)."""
    if len(size) != len(stride):
        raise CheckpointError(f"tensor in storage {storage.key!r} has {len(size)} sizes but {len(stride)} strides")
    if len(size) > MAX_TENSOR_DIMENSIONS:
        raise CheckpointError(f"tensor in storage {storage.key!r} has {len(size)} dimensions "
                              f"(at most {MAX_TENSOR_DIMENSIONS})")
    if any(v < 0 for v in size) or any(v < 0 for v in stride):
        raise CheckpointError(f"tensor in storage {storage.key!r} has a negative size or stride: "
                              f"size {size}, stride {stride}")
    storage_bytes = storage.numel * _element_size(storage.dtype)
    available = storage_bytes // _element_size(dtype)  # a legacy view's offset is applied on materialising
    if view_element_count(size) == 0:
        return
    last = offset + sum((n - 1) * s for n, s in zip(size, stride, strict=True))
    if last >= available:
        raise CheckpointError(f"tensor in storage {storage.key!r} (offset {offset}, size {size}, stride {stride}) "
                              f"reaches element {last}, beyond the {available} elements its storage holds")


def _pending(storage: Any, offset: Any, size: Any, stride: Any, dtype: torch.dtype | None) -> PendingTensor:
    if not isinstance(storage, StorageRef):
        raise CheckpointError(f"checkpoint tensor refers to {storage!r} instead of a storage")
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise CheckpointError(f"checkpoint tensor has an invalid storage offset {offset!r}")
    sizes, strides = _int_tuple(size, "size"), _int_tuple(stride, "stride")
    _check_view(storage, offset, sizes, strides, dtype or storage.dtype)
    return PendingTensor(storage, offset, sizes, strides, dtype or storage.dtype)


def _rebuild_tensor(storage: Any, offset: Any, size: Any, stride: Any, *_: Any) -> PendingTensor:
    """Stands in for ``torch._utils._rebuild_tensor`` and ``_rebuild_tensor_v2``."""
    return _pending(storage, offset, size, stride, None)


def _rebuild_tensor_v3(storage: Any, offset: Any, size: Any, stride: Any, requires_grad: Any,
                       hooks: Any, dtype: Any, *_: Any) -> PendingTensor:  # fmt: skip
    if not isinstance(dtype, torch.dtype):
        raise CheckpointError(f"checkpoint tensor has an invalid dtype {dtype!r}")
    return _pending(storage, offset, size, stride, dtype)


def _rebuild_parameter(data: Any, *_: Any) -> Any:
    """A parameter is kept as its data tensor: requires_grad and hooks do not matter here."""
    return data


def _codecs_encode(text: Any, encoding: str = "utf-8", *_: Any) -> bytes:
    """``_codecs.encode``, which protocol-2 pickles use for bytes; strings only."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1", "utf-8", "utf8", "ascii"):
        raise CheckpointError(f"refusing _codecs.encode({type(text).__name__}, {encoding!r}) in a checkpoint")
    return text.encode(encoding)


ALLOWED_CALLABLES: dict[tuple[str, str], Callable[..., Any]] = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v3"): _rebuild_tensor_v3,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch.nn.parameter", "Parameter"): _rebuild_parameter,
    ("torch", "Size"): torch.Size,
    ("torch", "device"): torch.device,
    ("_codecs", "encode"): _codecs_encode,
}


class RestrictedUnpickler(pickle.Unpickler):
    """A ``pickle.Unpickler`` that never imports: allow-listed callables or placeholders."""

    def __init__(self, file: BinaryIO, storages: dict[str, StorageRef] | None = None) -> None:
        super().__init__(file, encoding="latin1")
        self._stream = file
        self.storages = storages if storages is not None else {}
        self.placeholders: dict[str, type[Placeholder]] = {}
        self.storage_elements = 0  # declared by the storages named so far
        self.tensor_elements = 0  # viewed by the tensors rebuilt so far

    def _counted(self, rebuild: Callable[..., PendingTensor]) -> Callable[..., PendingTensor]:
        """``rebuild`` plus the running bound on elements viewed vs. elements stored."""

        def counted(*args: Any) -> PendingTensor:
            tensor = rebuild(*args)
            self.tensor_elements += view_element_count(tensor.size)
            limit = MAX_VIEW_ELEMENT_RATIO * self.storage_elements + ELEMENT_SLACK
            if self.tensor_elements > limit:
                raise CheckpointError(
                    f"its tensors view {self.tensor_elements:,} elements but its storages hold only "
                    f"{self.storage_elements:,} (at most {MAX_VIEW_ELEMENT_RATIO}x that plus {ELEMENT_SLACK:,} "
                    "are accepted): overlapping or zero-stride views would take far more memory than the file")
            return tensor

        return counted

    def load(self) -> Any:
        """The next pickle of the stream, once ``check_pickle_depth`` has passed it."""
        check_pickle_depth(self._stream)
        return super().load()

    def find_class(self, module: str, name: str) -> Any:
        allowed = ALLOWED_CALLABLES.get((module, name))
        if allowed in (_rebuild_tensor, _rebuild_tensor_v3):
            return self._counted(allowed)
        if allowed is not None:
            return allowed
        if module in ("torch", "torch.storage") and name in STORAGE_DTYPES:
            return StorageType(name, STORAGE_DTYPES[name])
        if module == "torch" and name in TORCH_DTYPES:
            return TORCH_DTYPES[name]
        if module in ("builtins", "__builtin__") and name in SAFE_BUILTINS:
            return getattr(builtins, name)
        return self._placeholder(f"{module}.{name}")

    def _placeholder(self, origin: str) -> type[Placeholder]:
        if origin not in self.placeholders:
            self.placeholders[origin] = type("Placeholder", (Placeholder,), {"origin": origin})
        return self.placeholders[origin]

    def persistent_load(self, pid: Any) -> StorageRef:
        if not isinstance(pid, tuple) or len(pid) < 5 or pid[0] != "storage":
            raise pickle.UnpicklingError(f"unsupported persistent id {pid!r} in checkpoint")
        storage_type, key, _location, numel = pid[1], str(pid[2]), pid[3], pid[4]
        if not isinstance(storage_type, StorageType):
            raise pickle.UnpicklingError(f"persistent id names {storage_type!r}, not a torch storage type")
        if not isinstance(numel, int) or isinstance(numel, bool) or numel < 0:
            raise pickle.UnpicklingError(f"invalid storage size {numel!r} in checkpoint")
        root = self.storages.get(key)
        if root is None:
            root = self.storages[key] = StorageRef(key, storage_type.dtype, numel)
            self.storage_elements += numel
        elif root.numel != numel or root.dtype != storage_type.dtype:
            raise CheckpointError(f"storage {key!r} is declared twice, with different sizes or types")
        view = pid[5] if len(pid) > 5 else None
        if view is None:
            return root
        if not isinstance(view, tuple) or len(view) != 3:
            raise pickle.UnpicklingError(f"invalid storage view {view!r} in checkpoint")
        view_key, view_offset, view_numel = view  # legacy storage views
        for value, what in ((view_offset, "offset"), (view_numel, "size")):
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise pickle.UnpicklingError(f"invalid storage view {what} {value!r} in checkpoint")
        if view_offset + view_numel > root.numel:
            raise CheckpointError(f"storage view {view_key!r} (offset {view_offset}, size {view_numel}) "
                                  f"reaches beyond its storage {key!r} of {root.numel} elements")
        return StorageRef(str(view_key), root.dtype, view_numel, element_offset=view_offset, base=root)


@dataclasses.dataclass
class LoadedCheckpoint:
    """The unpickled object graph plus the storages its tensors live in."""

    root: Any
    storages: dict[str, StorageRef]
    placeholder_origins: list[str]
    format: str


def _read_record(archive: zipfile.ZipFile, name: str, expected: int | None = None) -> bytes:
    """One zip record, refused before inflating when it would inflate too far or has the wrong size."""
    info = archive.getinfo(name)
    if info.file_size > COMPRESSION_FLOOR and info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1):
        raise CheckpointError(f"record {name!r} inflates from {info.compress_size:,} to {info.file_size:,} bytes "
                              f"(more than {MAX_COMPRESSION_RATIO}x); refusing a likely zip bomb")
    if expected is not None and info.file_size != expected:
        raise CheckpointError(f"record {name!r} holds {info.file_size:,} bytes but its storage declares "
                              f"{expected:,}")
    return archive.read(info)


def _read_zip(path: Path) -> LoadedCheckpoint:
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        pickles = [name for name in names if name.endswith("/data.pkl") or name == "data.pkl"]
        if len(pickles) != 1:
            raise CheckpointError("it is a zip file but not a torch.save checkpoint (no single data.pkl)")
        prefix = pickles[0][: -len("data.pkl")]
        if f"{prefix}byteorder" in names and _read_record(archive, f"{prefix}byteorder").strip() != b"little":
            raise CheckpointError("it was written on a big-endian machine; only little-endian files are supported")
        unpickler = RestrictedUnpickler(io.BytesIO(_read_record(archive, pickles[0])))
        root = unpickler.load()
        for key, storage in unpickler.storages.items():
            record = f"{prefix}data/{key}"
            if record not in names:
                raise CheckpointError(f"it names storage {key!r} but holds no record {record!r}")
            storage.data = _read_record(archive, record, storage.numel * _element_size(storage.dtype))
    return LoadedCheckpoint(root, unpickler.storages, sorted(unpickler.placeholders), "zip")


def _read_legacy(path: Path) -> LoadedCheckpoint:
    file_size = path.stat().st_size
    with open(path, "rb") as handle:
        header = RestrictedUnpickler(handle)
        if header.load() != LEGACY_MAGIC_NUMBER:
            raise CheckpointError("it is not a PyTorch checkpoint (no zip archive, no legacy magic number)")
        header.load()  # protocol version
        system_info = header.load()
        if isinstance(system_info, dict) and system_info.get("little_endian") is False:
            raise CheckpointError("it was written on a big-endian machine; only little-endian files are supported")
        unpickler = RestrictedUnpickler(handle)
        root = unpickler.load()
        keys = RestrictedUnpickler(handle).load()
        if not isinstance(keys, list):
            raise CheckpointError(f"its storage key list is a {type(keys).__name__}, not a list")
        for key in keys:
            storage = unpickler.storages.get(str(key))
            if storage is None:
                raise CheckpointError(f"storage {key!r} has data but no tensor refers to it")
            numel = int.from_bytes(handle.read(8), "little", signed=True)
            if numel != storage.numel:
                raise CheckpointError(f"storage {key!r} is declared with {storage.numel:,} elements but its data "
                                      f"header says {numel:,}")
            nbytes = numel * _element_size(storage.dtype)
            if nbytes > file_size - handle.tell():
                raise CheckpointError(f"it is truncated: storage {key!r} needs {nbytes:,} bytes, "
                                      f"{file_size - handle.tell():,} are left")
            storage.data = handle.read(nbytes)
            if len(storage.data) != nbytes:
                raise CheckpointError(f"it is truncated: storage {key!r} needs {nbytes:,} bytes")
        for storage in list(unpickler.storages.values()):
            if storage.data is None:
                raise CheckpointError(f"storage {storage.key!r} has no data")
    return LoadedCheckpoint(root, unpickler.storages, sorted(unpickler.placeholders), "legacy")


def looks_like_safetensors(path: Path) -> bool:
    """Whether ``path`` starts like a safetensors file (little-endian header length, then ``{``)."""
    with open(path, "rb") as handle:
        head = handle.read(9)
    if len(head) < 9 or head[8:9] != b"{":
        return False
    (length,) = struct.unpack("<Q", head[:8])
    return 0 < length <= os.path.getsize(path) - 8


# What a malformed pickle or archive can raise from the standard library and torch.
READ_ERRORS = (pickle.UnpicklingError, EOFError, TypeError, IndexError, KeyError, AttributeError, RuntimeError,
               OverflowError, MemoryError, RecursionError, struct.error, zipfile.BadZipFile, NotImplementedError,
               ValueError)


def restricted_load(path: Path | str) -> LoadedCheckpoint:
    """Unpickle a ``torch.save`` file (zip or legacy format) without importing anything.

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` naming the file for
    anything else: a safetensors file given by mistake, a file that is no checkpoint, a
    truncated one, or one exceeding the allocation bounds (see the module docstring).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    if looks_like_safetensors(path):
        raise ValueError(f"{path} is a safetensors file, not a pickled checkpoint: it needs no conversion "
                         "(pass it to --weights or trackerzoo.weights.load_into as it is)")
    try:
        if zipfile.is_zipfile(path):
            return _read_zip(path)
        return _read_legacy(path)
    except CheckpointError as exc:
        raise ValueError(f"{path}: refused as a PyTorch checkpoint: {exc}") from None
    except READ_ERRORS as exc:
        raise ValueError(f"{path} could not be read as a PyTorch checkpoint: {type(exc).__name__}: {exc}") from None
