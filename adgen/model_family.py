"""What a `--model` reference is, read from its config files (never from its name): family and defaults.

A model's name says nothing reliable ("my-turbo-finetune" may be a plain SDXL fine-tune, and an
SD-Turbo copy may be called "base"), so the defaults come from the files the pipeline is built from:
- adgen-tiny (embedded or retrained with `adgen train base`): its folder holds
  `adgen_train_config.json` and no `text_encoder/` (MiniLM comes from its wheel).
- SD 1.5 vs SDXL: `model_index.json`'s pipeline class; for a single `.safetensors` file, its keys
  (SDXL has a second text encoder, `conditioner.embedders.1`).
- Few-step distilled models (SD-Turbo, SDXL-Turbo, Lightning, LCM): the scheduler config, which
  their publishers set to "trailing" timestep spacing (or an LCM/TCD scheduler) because sampling in
  1-4 steps must start from pure noise; base SD 1.5/SDXL ship "leading".
Only json is imported here: `resolve()` calls this for every asset.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_MODEL = "adgen-tiny"
FEW_STEP_SCHEDULERS = ("LCMScheduler", "TCDScheduler")
# Steps and guidance per family; a request's own steps/guidance always win.
FAMILY_DEFAULTS = {"sd15": (30, 7.0), "sdxl": (30, 7.0), "unknown": (30, 7.0)}
DISTILLED_DEFAULTS = (2, 0.0)  # Turbo-class: 1-4 steps, no classifier-free guidance


@dataclass(frozen=True)
class ModelFamily:
    """A model's family and the sampling defaults adgen uses for it."""

    family: str        # adgen-tiny | sd15 | sdxl | unknown
    distilled: bool    # a few-step model (Turbo, Lightning, LCM): few steps, no CFG
    steps: int
    guidance: float
    evidence: str      # the file and value that decided, for messages and docs


def model_family(model: str) -> ModelFamily:
    """The family of a model reference (adgen-tiny, a folder, a .safetensors file or a cached hub id)."""
    root = model_root(model)
    if root is None:
        return _family("unknown", False, f"{model}: no local files to read")
    if root.is_file():
        return _single_file_family(root)
    return _folder_family(root)


def model_root(model: str) -> Path | None:
    """The local folder or file a model reference names, without downloading anything; None if none."""
    if model == DEFAULT_MODEL:
        from adgen.tiny import TINY_MODEL_DIR

        return TINY_MODEL_DIR
    path = Path(model).expanduser()
    if path.exists():
        return path
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(model, local_files_only=True))
    except Exception:  # not a hub id, or not in the local cache
        return None


def is_adgen_tiny_folder(folder: Path) -> bool:
    """A folder written by `adgen train base` (the shipped one or a retrained one)."""
    return (folder / "adgen_train_config.json").is_file() and not (folder / "text_encoder").is_dir()


def _folder_family(folder: Path) -> ModelFamily:
    if is_adgen_tiny_folder(folder):
        from adgen.tiny import TINY_DEFAULT_GUIDANCE, TINY_DEFAULT_STEPS

        return ModelFamily("adgen-tiny", False, TINY_DEFAULT_STEPS, TINY_DEFAULT_GUIDANCE,
                           f"{folder / 'adgen_train_config.json'} exists")
    index = _read_json(folder / "model_index.json")
    pipeline = str(index.get("_class_name", ""))
    family = "sdxl" if "XL" in pipeline else ("sd15" if pipeline.startswith("StableDiffusion") else "unknown")
    distilled, why = _scheduler_is_few_step(folder / "scheduler" / "scheduler_config.json")
    return _family(family, distilled, f"model_index.json _class_name {pipeline or '?'}; {why}")


def _single_file_family(path: Path) -> ModelFamily:
    family = "unknown"
    if path.suffix == ".safetensors":
        from safetensors import safe_open

        try:
            with safe_open(str(path), framework="pt") as handle:
                family = "sdxl" if any(k.startswith("conditioner.embedders.1") for k in handle.keys()) else "sd15"
        except Exception:  # unreadable: the loader reports it with the file name
            family = "unknown"
    # The weights carry no scheduler; the configs come from $ADGEN_SINGLE_FILE_CONFIG, as in the loader.
    config = os.environ.get("ADGEN_SINGLE_FILE_CONFIG")
    if config:
        distilled, why = _scheduler_is_few_step(Path(config) / "scheduler" / "scheduler_config.json")
    else:
        distilled, why = False, "no scheduler config (set ADGEN_SINGLE_FILE_CONFIG to a folder of the same model)"
    return _family(family, distilled, f"{path.name} keys: {family}; {why}")


def _scheduler_is_few_step(config_file: Path) -> tuple[bool, str]:
    config = _read_json(config_file)
    if not config:
        return False, f"no {config_file.name}"
    name, spacing = config.get("_class_name", "?"), config.get("timestep_spacing", "leading")
    distilled = name in FEW_STEP_SCHEDULERS or spacing == "trailing"
    return distilled, f"scheduler {name}, timestep_spacing {spacing}"


def _family(family: str, distilled: bool, evidence: str) -> ModelFamily:
    steps, guidance = DISTILLED_DEFAULTS if distilled else FAMILY_DEFAULTS[family]
    return ModelFamily(family, distilled, steps, guidance, evidence)


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
