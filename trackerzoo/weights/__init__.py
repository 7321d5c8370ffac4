"""Weight files: safetensors + manifest, strict loading, and the checkpoint converter.

from trackerzoo.weights import load_into, save_safetensors
load_into(model, "mobilenetv2_imagenet")      # a manifest name, or a path
"""

from trackerzoo.weights.files import (
    ChecksumMismatchError,
    apply_state_dict,
    load_into,
    load_state_dict,
    read_metadata,
    resolve_weights,
    save_safetensors,
    sha256_file,
)
from trackerzoo.weights.manifest import (
    ManifestEntry,
    find_entry,
    read_manifest,
    upsert_entry,
    weights_dir,
    write_manifest,
)

__all__ = [
    "ChecksumMismatchError",
    "ManifestEntry",
    "apply_state_dict",
    "find_entry",
    "load_into",
    "load_state_dict",
    "read_manifest",
    "read_metadata",
    "resolve_weights",
    "save_safetensors",
    "sha256_file",
    "upsert_entry",
    "weights_dir",
    "write_manifest",
]
