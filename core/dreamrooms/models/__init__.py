"""Models: the registry of manifests (`registry`), I/O contracts and their one check (`contracts`), ONNX Runtime
sessions (`runtime`), verified downloads (`download`) and your own models (`user`).

The package exposes the registry; open sessions with :mod:`dreamrooms.models.runtime` and fetch with
:mod:`dreamrooms.models.download`.
"""
from dreamrooms.models.registry import (KINDS, MANIFEST_NAME, ModelEntry, ModelError, builtin_dir, dumps_manifest,
                                        infer_entry, list_models, load_manifest, models_dir, registry, resolve,
                                        sha256_file)

__all__ = ["KINDS", "MANIFEST_NAME", "ModelEntry", "ModelError", "builtin_dir", "dumps_manifest", "infer_entry",
           "list_models", "load_manifest", "models_dir", "registry", "resolve", "sha256_file"]
