"""Train a brand's adapter as a new registry version (adgen.lora_registry): split, train, record.

`train_version(pipe, kit, images_dir, ...)` keeps one brand image in HELD_OUT_EVERY out of
training (copied to v<n>/held_out/, where the eval measures the plates' distance to their
colour statistics), trains the rest through adgen.training.lora.train_lora into v<n>/, copies
any negatives (rejected plates) to v<n>/negatives/, and adds the registry's fields to the
trainer's adapter.json: version, parent, created_at, training_data. The version is not promoted.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Callable

from adgen.errors import InputError
from adgen.adapters import ADAPTER_INFO_FILE
from adgen.lora_registry import (LOCAL_TENANT, AdapterVersion, active, get_version, new_version_dir,
                                  registry_dir, update_info)
from adgen.training.adapter_eval import HELD_OUT_DIR, IMAGE_SUFFIXES, NEGATIVES_DIR

HELD_OUT_EVERY = 6       # one image in six is held out for the eval...
TRAIN_SET_DIR = "train_set"  # links to the images a run trains on, while it runs
MIN_TRAIN_IMAGES = 12    # ...as long as the trainer keeps at least this many (its linter's minimum)


def train_version(pipe, kit, images_dir: Path, *, tenant: str = LOCAL_TENANT, config=None,
                  base_model_sha256: str = "unknown", negatives_dir: Path | None = None, source: str = "folder",
                  progress: Callable[[str], None] = lambda phase: None, resume: bool = False,
                  on_step: Callable[[int, int, float], None] | None = None) -> AdapterVersion:
    """Train `kit`'s adapter on the images in `images_dir` (+ .txt captions) as the next version;
    resume: continue the newest unfinished version from its checkpoint instead."""
    from adgen.training.lora import LoraTrainConfig, train_lora

    images = sorted(p for p in Path(images_dir).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    held = [p for i, p in enumerate(images) if i % HELD_OUT_EVERY == HELD_OUT_EVERY - 1]
    if len(images) - len(held) < MIN_TRAIN_IMAGES:
        held = []  # too few to spare any: the eval then reports no held-out distance
    parent = active(kit.id, tenant)
    number, folder = unfinished_version_dir(kit.id, tenant) if resume else new_version_dir(kit.id, tenant)
    try:
        _copy(held, folder / HELD_OUT_DIR)
        negatives = sorted(p for p in Path(negatives_dir).iterdir()
                           if p.suffix.lower() in IMAGE_SUFFIXES) if negatives_dir else []
        _copy(negatives, folder / NEGATIVES_DIR)
        trigger = kit.adapter.trigger if kit.adapter and kit.adapter.trigger else f"{kit.id} style"
        # The training set is linked inside the version, not in a temp folder: a checkpoint names its
        # images, and a --resume relinks the same names at the same paths.
        staging = folder / TRAIN_SET_DIR
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        for path in images:
            if path not in held:  # linked, not copied: a brand's photo set can be large
                for part in (path, path.with_suffix(".txt")):
                    if part.is_file():
                        os.symlink(part.resolve(), staging / part.name)
        progress("training")
        started = time.time()
        train_lora(pipe, staging, folder, name=kit.id, trigger=trigger, style_words=tuple(kit.style.words),
                   config=config or LoraTrainConfig(), base_model_sha256=base_model_sha256, resume=resume,
                   on_step=on_step)
        shutil.rmtree(staging)
    except BaseException:
        # A failed run leaves no half version behind, unless it left a checkpoint to --resume from
        # (listing skips a folder without adapter.json either way).
        if not (folder / "checkpoints").is_dir():
            shutil.rmtree(folder, ignore_errors=True)
        raise
    version = get_version(kit.id, number, tenant)
    return update_info(version, version=number, brand=kit.id, tenant=tenant, created_at=time.time(),
                       parent=parent.version if parent else None,
                       training_data={"source": source, "images": len(images), "train_images": len(images) - len(held),
                             "held_out": [p.name for p in held], "negatives": len(negatives),
                             "wall_seconds": round(time.time() - started, 1)})


def unfinished_version_dir(brand: str, tenant: str) -> tuple[int, Path]:
    """The newest v<n>/ that holds a training checkpoint but no adapter yet (a run that was killed)."""
    root = registry_dir(brand, tenant)
    for folder in sorted(root.glob("v*"), key=lambda p: int(p.name[1:]) if p.name[1:].isdigit() else -1,
                         reverse=True):
        if folder.name[1:].isdigit() and (folder / "checkpoints").is_dir() and not (folder / ADAPTER_INFO_FILE).is_file():
            return int(folder.name[1:]), folder
    raise InputError("no unfinished training to resume (no registry version with a checkpoint and no adapter)",
                     field="--resume", value=f"{brand} ({tenant})")


def _copy(paths: list[Path], folder: Path) -> None:
    folder.mkdir(exist_ok=True)
    for path in paths:
        shutil.copy2(path, folder / path.name)
