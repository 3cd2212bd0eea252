"""Plate conditioners: ControlNet and IP-Adapter models the user has locally, steering the plate from the plan.

The registry is data (adgen/data/conditioners.yaml): a name, how it plugs in (kind), what it is
given (control), the pipeline the loaded one becomes per model family, and the files it needs.
A request names the ones to use with a local path (the brand kit's `conditioners:` or
`--conditioner NAME=PATH`); nothing is downloaded, and a path that is missing or lacks a needed
file is an InputError naming it. `conditioned(pipe, uses)` gives the inpainting pipeline with
the conditioners attached for one call (from_pipe over the loaded components: no weights reloaded) and
`control_inputs(uses, guides, ...)` the extra call arguments made from each plate's guide.
"""

from __future__ import annotations

import weakref
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from adgen.errors import InputError, ModelError

REGISTRY_FILE = Path(__file__).resolve().parent / "data" / "conditioners.yaml"
REFERENCE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


@dataclass(frozen=True)
class Conditioner:
    """One registry row."""

    name: str
    kind: str                      # controlnet | ip_adapter
    control: str                   # depth | inpaint | reference
    pipelines: tuple[tuple[str, str], ...]   # (family, diffusers pipeline class)
    needs: tuple[str, ...]
    scale: float


@dataclass(frozen=True)
class ConditionerUse:
    """A conditioner a request asks for: its registry name, the local path, the scale; recorded in the recipe."""

    name: str
    path: str
    scale: float

    def as_dict(self) -> dict:
        return {"name": self.name, "path": self.path, "scale": self.scale}


@cache
def registry() -> dict[str, Conditioner]:
    """The plate conditioners adgen knows, by name."""
    rows = yaml.safe_load(REGISTRY_FILE.read_text(encoding="utf-8"))
    return {name: Conditioner(name=name, kind=row["kind"], control=row["control"],
                              pipelines=tuple(row["pipelines"].items()), needs=tuple(row["needs"]),
                              scale=float(row["scale"])) for name, row in rows.items()}


def parse_use(text: str, field: str = "conditioner") -> ConditionerUse:
    """NAME=PATH or NAME=PATH@SCALE, checked against the registry and the file system."""
    name, sep, rest = text.partition("=")
    if not sep or not rest:
        raise InputError("a conditioner is NAME=PATH[@SCALE]", field=field, value=text)
    path, at, scale = rest.rpartition("@") if "@" in rest else (rest, "", "")
    try:
        value = float(scale) if at else None
    except ValueError:
        raise InputError("the conditioner's scale is not a number", field=field, value=text) from None
    return use(name.strip(), path.strip(), value, field=field)


def use(name: str, path: str, scale: float | None = None, *, field: str = "conditioner") -> ConditionerUse:
    """A checked ConditionerUse: a known name and an existing local path holding the files it needs."""
    known = registry()
    if name not in known:
        raise InputError(f"unknown plate conditioner; known: {', '.join(sorted(known))}", field=field, value=name)
    entry = known[name]
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise InputError(f"{name}: no such local folder (adgen does not download conditioners)", field=field,
                         value=str(folder))
    for needed in entry.needs:
        if not (folder / needed).is_file():
            raise InputError(f"{name}: {needed} is missing from the folder", field=field, value=str(folder / needed))
    scale = entry.scale if scale is None else scale
    if not 0 <= scale <= 2:
        raise InputError("a conditioning scale is 0-2", field=field, value=str(scale))
    return ConditionerUse(name=name, path=str(folder.resolve()), scale=scale)


def family_of(pipe) -> str:
    return "sdxl" if hasattr(pipe, "text_encoder_2") else "sd15"


_CONDITIONED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@contextmanager
def conditioned(pipe, uses: tuple[ConditionerUse, ...]):
    """The inpainting pipeline over pipe's components with the conditioners attached, for one call.

    ControlNet pipelines are kept per (pipe, uses): the ControlNet is a module of its own. An
    IP-Adapter replaces the shared UNet's attention processors, so it is loaded for the call and
    unloaded after it: the plain pipeline over the same UNet must not see it.
    """
    cached = _CONDITIONED.setdefault(pipe, {})
    nets = tuple(u for u in uses if registry()[u.name].kind == "controlnet")
    adapters = [u for u in uses if registry()[u.name].kind == "ip_adapter"]
    if len(adapters) > 1:
        raise InputError("one IP-Adapter per plate", field="conditioner", value=", ".join(u.name for u in adapters))
    if nets not in cached:
        cached[nets] = _build(pipe, nets, adapters[0] if adapters else None)
    out = cached[nets]
    if not adapters:
        yield out
        return
    _attach_ip_adapter(out, adapters[0])
    try:
        yield out
    finally:
        out.unload_ip_adapter()


def _build(pipe, nets: tuple[ConditionerUse, ...], adapter: ConditionerUse | None):
    import diffusers

    family = family_of(pipe)
    controlnets = [(u, registry()[u.name]) for u in nets]
    kind = None
    for use_, entry in controlnets or [(adapter, registry()[adapter.name])]:
        names = dict(entry.pipelines)
        if family not in names:
            raise ModelError(f"{entry.name} has no pipeline for {family} models", field="conditioner", value=entry.name)
        kind = names[family]
    extra = {}
    if controlnets:
        from diffusers import ControlNetModel

        models = [_controlnet(ControlNetModel, u.path, pipe.unet.dtype) for u, _ in controlnets]
        extra["controlnet"] = models[0] if len(models) == 1 else models
    out = getattr(diffusers, kind).from_pipe(pipe, **extra)
    out.set_progress_bar_config(disable=True)
    return out.to(pipe.device)


def _controlnet(model_class, path: str, dtype):
    try:
        return model_class.from_pretrained(path, dtype=dtype, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot load ControlNet from {path}: {exc}", field="conditioner", value=path) from None


def _attach_ip_adapter(pipe, use_: ConditionerUse) -> None:
    """load_ip_adapter from the local folder: image_encoder/ and one ip_adapter weights file beside it."""
    folder = Path(use_.path)
    weights = sorted(p.name for p in folder.glob("*.safetensors")) or sorted(p.name for p in folder.glob("*.bin"))
    if not weights:
        raise InputError("ip-adapter: no .safetensors weights file in the folder", field="conditioner",
                         value=str(folder))
    try:
        pipe.load_ip_adapter(str(folder), subfolder="", weight_name=weights[0], image_encoder_folder="image_encoder",
                             local_files_only=True)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(f"cannot load IP-Adapter from {folder}: {exc}", field="conditioner", value=str(folder)) from None
    pipe.set_ip_adapter_scale(use_.scale)


def control_inputs(uses: tuple[ConditionerUse, ...], guides, references: list | None = None) -> dict:
    """The extra pipeline arguments for a batch of plates: control images (one per guide) and scales."""
    entries = [registry()[u.name] for u in uses]
    out: dict = {}
    nets = [(u, e) for u, e in zip(uses, entries) if e.kind == "controlnet"]
    if nets:
        images = [_batch([_control_image(e.control, g) for g in guides]) for _, e in nets]
        out["control_image"] = images[0] if len(nets) == 1 else images
        scales = [u.scale for u, _ in nets]
        out["controlnet_conditioning_scale"] = scales[0] if len(nets) == 1 else scales
    if any(e.kind == "ip_adapter" for e in entries):
        if not references:
            raise InputError("ip-adapter needs reference images (the brand kit's style/ folder is empty)",
                             field="conditioner", value="ip-adapter")
        # The kit's first reference image; diffusers repeats its embedding for every plate in the batch.
        out["ip_adapter_image"] = references[0]
    return out


def _batch(images: list):
    """PIL images as a list; tensors (the inpaint condition) as one batch tensor, as the pipelines want them."""
    if images and not hasattr(images[0], "convert"):
        import torch

        return torch.cat(images)
    return images


def _control_image(control: str, guide):
    if control == "depth":
        return depth_from_guide(guide)
    if control == "inpaint":
        return inpaint_condition(guide)
    raise ModelError("a ControlNet takes depth or inpaint control", field="conditioner", value=control)


def depth_from_guide(guide):
    """A depth map (RGB, near is bright) from the guide: a wall, a floor plane rising to the product's base, the product nearest."""
    import numpy as np
    from PIL import Image

    keep = np.asarray(guide.mask) < 128               # the product's kept pixels
    height, width = keep.shape
    rows = np.nonzero(keep.any(axis=1))[0]
    base = int(rows.max()) if rows.size else round(0.8 * height)
    top = int(rows.min()) if rows.size else base
    # The floor meets the wall a little above the base (a third of the product's height), so the product stands on it.
    horizon = max(0, base - max(2, (base - top) // 3))
    y = np.arange(height, dtype=np.float32)[:, None]
    floor = 0.35 + 0.55 * np.clip((y - horizon) / max(1, height - horizon), 0, 1)
    depth = np.where(y < horizon, 0.3, floor) * np.ones((1, width), np.float32)
    at_base = 0.35 + 0.55 * (base - horizon) / max(1, height - horizon)
    depth = np.where(keep, min(1.0, at_base + 0.08), depth)
    return Image.fromarray((depth * 255).astype(np.uint8), "L").convert("RGB")


def inpaint_condition(guide):
    """The init at -1 wherever the plate is generated (ControlNet 1.1 inpaint's make_inpaint_condition), as a tensor."""
    import numpy as np
    import torch

    pixels = np.asarray(guide.init.convert("RGB"), dtype=np.float32) / 255.0
    free = np.asarray(guide.mask) >= 128
    pixels[free] = -1.0
    return torch.from_numpy(pixels.transpose(2, 0, 1)).unsqueeze(0)


def reference_images(folder: Path | None) -> list:
    """The brand's reference images for an IP-Adapter (its style/ folder), RGB, sorted by name."""
    from PIL import Image

    if folder is None or not folder.is_dir():
        return []
    return [Image.open(p).convert("RGB") for p in sorted(folder.iterdir()) if p.suffix.lower() in REFERENCE_SUFFIXES]
