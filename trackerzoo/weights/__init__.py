"""Weight files: safetensors + manifest, strict loading, and the checkpoint converter.

from trackerzoo.weights import load_into, save_safetensors
load_into(model, "mobilenetv2_imagenet")      # a manifest name, or a path
weights_for("cract", "mobilenetv2")           # the manifest entry serving a tracker's variant
"""

from trackerzoo.weights.converter import ConversionReport, convert_checkpoint, read_checkpoint
from trackerzoo.weights.files import (
    ChecksumMismatchError,
    apply_state_dict,
    build_with_weights,
    load_into,
    load_state_dict,
    read_metadata,
    resolve_weights,
    save_safetensors,
    sha256_file,
)
from trackerzoo.weights.key_filters import (
    CheckpointFilter,
    drop_classifier_head,
    move_backbone,
    rename_prefixes,
    strip_prefix,
)
from trackerzoo.weights.manifest import (
    ManifestEntry,
    find_entry,
    read_manifest,
    upsert_entry,
    weights_dir,
    weights_for,
    write_manifest,
)

__all__ = [
    "CheckpointFilter",
    "ChecksumMismatchError",
    "ConversionReport",
    "ManifestEntry",
    "apply_state_dict",
    "build_with_weights",
    "convert_checkpoint",
    "drop_classifier_head",
    "find_entry",
    "load_into",
    "load_state_dict",
    "move_backbone",
    "read_checkpoint",
    "read_manifest",
    "read_metadata",
    "rename_prefixes",
    "resolve_weights",
    "save_safetensors",
    "sha256_file",
    "strip_prefix",
    "upsert_entry",
    "weights_dir",
    "weights_for",
    "write_manifest",
]
