"""Checkpoint and config paths, laid out as SadTalker's own `init_path` lays them out."""

from __future__ import annotations

import os


def init_path(
    checkpoint_dir: str,
    config_dir: str,
    size: int = 512,
    old_version: bool = False,
    preprocess: str = "crop",
) -> dict[str, object]:
    mapping = (
        "mapping_00109-model.pth.tar" if "full" in preprocess else "mapping_00229-model.pth.tar"
    )
    return {
        "checkpoint": os.path.join(checkpoint_dir, f"SadTalker_V0.0.2_{size}.safetensors"),
        "mappingnet_checkpoint": os.path.join(checkpoint_dir, mapping),
        "dir_of_BFM_fitting": config_dir,
        "audio2pose_yaml_path": os.path.join(config_dir, "auido2pose.yaml"),
        "audio2exp_yaml_path": os.path.join(config_dir, "auido2exp.yaml"),
        "facerender_yaml": os.path.join(config_dir, "facerender.yaml"),
        "use_safetensor": True,
    }
