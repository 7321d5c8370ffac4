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
"""

from __future__ import annotations

import builtins
import collections
import dataclasses
import io
import pickle
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

    def payload(self) -> bytes | None:
        return self.base.payload() if self.base is not None else self.data


@dataclasses.dataclass
class PendingTensor:
    """A tensor the pickle describes, built from its storage bytes on ``materialize``."""

    storage: StorageRef
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]
    dtype: torch.dtype

    def materialize(self) -> torch.Tensor:
        data = self.storage.payload()
        if data is None:
            raise ValueError(f"checkpoint storage {self.storage.key!r} has no data")
        element = torch.empty((), dtype=self.dtype).element_size()
        if len(data) % element:
            raise ValueError(f"storage {self.storage.key!r} holds {len(data)} bytes, not a multiple of {element}")
        flat = torch.frombuffer(bytearray(data), dtype=self.dtype) if data else torch.empty(0, dtype=self.dtype)
        offset = self.offset + self.storage.element_offset
        try:
            view = torch.as_strided(flat, self.size, self.stride, offset)
        except RuntimeError as exc:
            raise ValueError(f"tensor in storage {self.storage.key!r} does not fit its storage: {exc}") from None
        return view.clone(memory_format=torch.contiguous_format)


def _int_tuple(value: Any, what: str) -> tuple[int, ...]:
    if not isinstance(value, tuple | list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise ValueError(f"checkpoint tensor {what} must be a tuple of ints, got {value!r}")
    return tuple(value)


def _pending(storage: Any, offset: Any, size: Any, stride: Any, dtype: torch.dtype | None) -> PendingTensor:
    if not isinstance(storage, StorageRef):
        raise ValueError(f"checkpoint tensor refers to {storage!r} instead of a storage")
    if not isinstance(offset, int) or offset < 0:
        raise ValueError(f"checkpoint tensor has an invalid storage offset {offset!r}")
    return PendingTensor(
        storage, offset, _int_tuple(size, "size"), _int_tuple(stride, "stride"), dtype or storage.dtype
    )


def _rebuild_tensor(storage: Any, offset: Any, size: Any, stride: Any, *_: Any) -> PendingTensor:
    """Stands in for ``torch._utils._rebuild_tensor`` and ``_rebuild_tensor_v2``."""
    return _pending(storage, offset, size, stride, None)


def _rebuild_tensor_v3(storage: Any, offset: Any, size: Any, stride: Any, requires_grad: Any,
                       hooks: Any, dtype: Any, *_: Any) -> PendingTensor:  # fmt: skip
    if not isinstance(dtype, torch.dtype):
        raise ValueError(f"checkpoint tensor has an invalid dtype {dtype!r}")
    return _pending(storage, offset, size, stride, dtype)


def _rebuild_parameter(data: Any, *_: Any) -> Any:
    """A parameter is kept as its data tensor: requires_grad and hooks do not matter here."""
    return data


def _codecs_encode(text: Any, encoding: str = "utf-8", *_: Any) -> bytes:
    """``_codecs.encode``, which protocol-2 pickles use for bytes; strings only."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1", "utf-8", "utf8", "ascii"):
        raise ValueError(f"refusing _codecs.encode({type(text).__name__}, {encoding!r}) in a checkpoint")
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
        self.storages = storages if storages is not None else {}
        self.placeholders: dict[str, type[Placeholder]] = {}

    def find_class(self, module: str, name: str) -> Any:
        allowed = ALLOWED_CALLABLES.get((module, name))
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
        if not isinstance(numel, int) or numel < 0:
            raise pickle.UnpicklingError(f"invalid storage size {numel!r} in checkpoint")
        root = self.storages.setdefault(key, StorageRef(key, storage_type.dtype, numel))
        view = pid[5] if len(pid) > 5 else None
        if view is None:
            return root
        view_key, view_offset, view_numel = view  # legacy storage views
        if not isinstance(view_offset, int) or view_offset < 0:
            raise pickle.UnpicklingError(f"invalid storage view offset {view_offset!r} in checkpoint")
        return StorageRef(str(view_key), root.dtype, view_numel, element_offset=view_offset, base=root)


@dataclasses.dataclass
class LoadedCheckpoint:
    """The unpickled object graph plus the storages its tensors live in."""

    root: Any
    storages: dict[str, StorageRef]
    placeholder_origins: list[str]
    format: str


def _read_zip(path: Path) -> LoadedCheckpoint:
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        pickles = [name for name in names if name.endswith("/data.pkl") or name == "data.pkl"]
        if len(pickles) != 1:
            raise ValueError(f"{path} is a zip file but not a torch.save checkpoint (no single data.pkl)")
        prefix = pickles[0][: -len("data.pkl")]
        if f"{prefix}byteorder" in names and archive.read(f"{prefix}byteorder").strip() != b"little":
            raise ValueError(f"{path} was written on a big-endian machine; only little-endian files are supported")
        unpickler = RestrictedUnpickler(io.BytesIO(archive.read(pickles[0])))
        root = unpickler.load()
        for key, storage in unpickler.storages.items():
            record = f"{prefix}data/{key}"
            if record not in names:
                raise ValueError(f"{path} names storage {key!r} but holds no record {record!r}")
            storage.data = archive.read(record)
    return LoadedCheckpoint(root, unpickler.storages, sorted(unpickler.placeholders), "zip")


def _read_legacy(path: Path) -> LoadedCheckpoint:
    with open(path, "rb") as handle:
        header = RestrictedUnpickler(handle)
        if header.load() != LEGACY_MAGIC_NUMBER:
            raise ValueError(f"{path} is not a PyTorch checkpoint (no zip archive, no legacy magic number)")
        header.load()  # protocol version
        system_info = header.load()
        if isinstance(system_info, dict) and system_info.get("little_endian") is False:
            raise ValueError(f"{path} was written on a big-endian machine; only little-endian files are supported")
        unpickler = RestrictedUnpickler(handle)
        root = unpickler.load()
        keys = RestrictedUnpickler(handle).load()
        for key in keys:
            storage = unpickler.storages.get(str(key))
            if storage is None:
                raise ValueError(f"{path}: storage {key!r} has data but no tensor refers to it")
            numel = int.from_bytes(handle.read(8), "little", signed=True)
            nbytes = numel * torch.empty((), dtype=storage.dtype).element_size()
            storage.data = handle.read(nbytes)
            if len(storage.data) != nbytes:
                raise ValueError(f"{path} is truncated: storage {key!r} needs {nbytes} bytes")
        for storage in list(unpickler.storages.values()):
            if storage.data is None:
                raise ValueError(f"{path}: storage {storage.key!r} has no data")
    return LoadedCheckpoint(root, unpickler.storages, sorted(unpickler.placeholders), "legacy")


def restricted_load(path: Path | str) -> LoadedCheckpoint:
    """Unpickle a ``torch.save`` file (zip or legacy format) without importing anything."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        if zipfile.is_zipfile(path):
            return _read_zip(path)
        return _read_legacy(path)
    except (
        pickle.UnpicklingError,
        EOFError,
        TypeError,
        IndexError,
        AttributeError,
        RuntimeError,
        OverflowError,
    ) as exc:
        raise ValueError(f"{path} could not be read as a PyTorch checkpoint: {exc}") from None
