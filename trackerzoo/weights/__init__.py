"""Weight files: safetensors + manifest, strict loading, and the checkpoint converter.

from trackerzoo.weights import load_into, save_safetensors
load_into(model, "mobilenetv2_imagenet")      # a manifest name, or a path
"""

from trackerzoo.weights.converter import ConversionReport, convert_checkpoint, read_checkpoint
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
from trackerzoo.weights.key_filters import (
    BACKBONE_LAYOUTS,
    available_key_filters,
    get_key_filter,
    register_key_filter,
    rename_prefixes,
    strip_prefix,
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
    "BACKBONE_LAYOUTS",
    "ChecksumMismatchError",
    "ConversionReport",
    "ManifestEntry",
    "apply_state_dict",
    "available_key_filters",
    "convert_checkpoint",
    "find_entry",
    "get_key_filter",
    "load_into",
    "load_state_dict",
    "read_checkpoint",
    "read_manifest",
    "read_metadata",
    "register_key_filter",
    "rename_prefixes",
    "resolve_weights",
    "save_safetensors",
    "sha256_file",
    "strip_prefix",
    "upsert_entry",
    "weights_dir",
    "write_manifest",
]
