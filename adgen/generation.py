"""Generate stage: a diffusers pipeline (+ brand LoRA) renders the text-free background plate."""

from __future__ import annotations

import hashlib
import os
from functools import cache
from pathlib import Path

from PIL import Image

from adgen.errors import ModelError
from adgen.geometry import Size
from adgen.plan import Plan
from adgen.prompt import Prompt
from adgen.request import DEFAULT_MODEL, ResolvedRequest

WHITE = (255, 255, 255)


def generate(prompt: Prompt, request: ResolvedRequest, plan: Plan | None = None) -> Image.Image:
    """Render the plate for a request, seeded by the request alone; marketplace plates are pure white.

    With a plan that places a product, the plate is generated around it (adgen.plate_guide);
    without one (or without a product) it is made exactly as before.
    """
    if request.format.marketplace:
        return Image.new("RGB", request.format.size.as_tuple(), WHITE)
    return render_plate(prompt.text, prompt.negative, model=request.model, target=request.format.size,
                        seed=request.seed, steps=request.steps, guidance=request.guidance,
                        adapter=_adapter(request), plan=plan, conditioners=conditioner_uses(request.brand))


def render_plate(text: str, negative: str | None, *, model: str, target: Size, seed: int, steps: int,
                 guidance: float, adapter: tuple | None = None, plan: Plan | None = None,
                 conditioners: tuple = ()) -> Image.Image:
    """Run the model once: a plate of about its native area with the target's aspect.

    conditioners: (uses, reference images) from conditioner_uses; ControlNet / IP-Adapter steering.
    """
    import torch

    pipe = load_pipeline(model)
    _activate_adapter(pipe, adapter)
    width, height = plate_size(native_side(pipe), target, pipe.vae_scale_factor)
    uses, references = conditioners or ((), None)
    guide = _guide(pipe, plan, (width, height), bool(uses))
    if guide is not None:
        from adgen.plate_guide import render_guided

        return render_guided(pipe, [guide], prompts=[text], negatives=[negative or None], size=(width, height),
                             seeds=[seed], steps=steps, guidance=guidance, conditioners=uses,
                             references=references)[0]
    # A CPU generator makes the same noise on every device, so a recipe remakes the same plate.
    generator = torch.Generator("cpu").manual_seed(seed)
    with torch.inference_mode():
        result = pipe(prompt=text, negative_prompt=negative or None, width=width, height=height,
                      num_inference_steps=steps, guidance_scale=guidance, generator=generator,
                      output_type="pil")
    return result.images[0].convert("RGB")


def _adapter(request: ResolvedRequest) -> tuple | None:
    if request.adapter_path is None:
        return None
    from adgen.lora_registry import version_of

    # Each registry version gets its own name on the resident pipeline: a promotion must not
    # reuse the weights loaded under the brand's name for the version active before.
    version = version_of(request.adapter_path)
    name = version.replace("/v", "_v") if version else request.brand.id
    return (name, request.adapter_path, request.adapter_weight, request.adapter_trigger)


def conditioner_uses(brand) -> tuple:
    """The brand kit's plate conditioners, checked (a missing local path is an InputError naming it), and its references."""
    if not brand.conditioners:
        return ()
    from adgen.conditioners import reference_images, use

    uses = []
    for index, ref in enumerate(brand.conditioners):
        path = Path(ref.path).expanduser()
        path = path if path.is_absolute() else brand.kit_dir / path
        uses.append(use(ref.name, str(path), ref.scale, field=f"conditioners[{index}].path"))
    return tuple(uses), reference_images(brand.kit_dir / "style")


def _guide(pipe, plan: Plan | None, size: tuple[int, int], conditioned: bool = False):
    """The plate's guide from the plan; without a product, a 9-channel UNet still gets the plan's calm copy
    space (nothing kept), a conditioned plate an all-free guide, and a 4-channel one none (text-to-image)."""
    from adgen.plate_guide import full_plate_guide, plate_guide

    nine = int(pipe.unet.config.in_channels) == 9
    if plan is not None and plan.product_box is not None:
        return plate_guide(plan, size, pipe.vae_scale_factor, whole_cells=not nine)
    if nine and calms_without_product(plan):
        # An inpainting checkpoint goes through the guided call anyway: the copy space costs nothing more.
        return plate_guide(plan, size, pipe.vae_scale_factor, whole_cells=False)
    if conditioned or nine:  # an inpainting checkpoint cannot run text-to-image
        return full_plate_guide(size)
    return None


def calms_without_product(plan: Plan | None, model: str | None = None) -> bool:
    """Whether a plan without a product still gets calm copy space: on a 9-channel model (model given: that
    model's UNet; else assumed), for a laid-out format with copy slots."""
    if plan is None or plan.product_box is not None or plan.marketplace or not plan.copy_boxes:
        return False
    return model is None or int(load_pipeline(model).unet.config.in_channels) == 9


def native_side(pipe) -> int:
    """The side in px the model was trained at (UNet sample size x VAE factor)."""
    return int(pipe.unet.config.sample_size) * int(pipe.vae_scale_factor)


def plate_size(native: int, target: Size, multiple: int = 8) -> tuple[int, int]:
    """A plate of about native^2 px with the target's aspect (clamped to 1:2..2:1), sides rounded to multiple."""
    aspect = min(2.0, max(0.5, target.aspect))
    width = native * aspect ** 0.5
    height = native / aspect ** 0.5
    snap = max(multiple, 8)
    return (max(snap, round(width / snap) * snap), max(snap, round(height / snap) * snap))


def load_pipeline(model: str):
    """The pipeline for a model reference, loaded once per (model, dtype, device) in this process."""
    device = _device()
    return _load_pipeline_cached(model, device, _dtype_name(device))


def model_fingerprint(model: str) -> str:
    """sha256 over the model's weight files (names and bytes), for the recipe."""
    from adgen.model_family import model_root

    root = model_root(model)
    if root is None:
        return "unknown"
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*")
                                                  if p.suffix in {".safetensors", ".bin", ".ckpt"})
    stats = tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    return _hash_files(stats)


@cache
def _hash_files(stats: tuple) -> str:
    digest = hashlib.sha256()
    for path, _, _ in stats:
        digest.update(Path(path).name.encode())
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


@cache
def _load_pipeline_cached(model: str, device: str, dtype_name: str):
    import torch

    _quiet_libraries()
    dtype = getattr(torch, dtype_name)
    pipe = _load(model, dtype)
    pipe = pipe.to(device)
    pipe.set_progress_bar_config(disable=True)
    # Speed-ups measured per device by `python -m bench`; ADGEN_ACCEL_* switches each one.
    from adgen.acceleration import Acceleration, accelerate

    from adgen.model_family import model_family

    return accelerate(pipe, Acceleration.from_env(device), one_step=model_family(model).distilled)


def _load(model: str, dtype):
    if model == DEFAULT_MODEL:
        from adgen.tiny import load_tiny_pipeline

        return load_tiny_pipeline(dtype=dtype)
    path = Path(model).expanduser()
    if path.is_dir():
        return _from_folder(path, dtype)
    if path.is_file():
        return _from_single_file(path, dtype)
    if "/" in model and not path.exists() and not model.startswith((".", "/", "~")):
        return _from_hub_cache(model, dtype)
    raise ModelError("model not found: no such folder or file, and not a hub id (org/name)",
                     field="model", value=model)


def _from_folder(path: Path, dtype):
    from diffusers import DiffusionPipeline

    from adgen.model_family import is_adgen_tiny_folder

    if is_adgen_tiny_folder(path):  # `adgen train base --out DIR`: no text_encoder/, MiniLM from its wheel
        from adgen.tiny import load_tiny_pipeline

        return load_tiny_pipeline(dtype=dtype, model_dir=path)
    if not (path / "model_index.json").is_file():
        raise ModelError(f"not a diffusers folder: {path / 'model_index.json'} is missing",
                         field="model", value=str(path))
    try:
        return DiffusionPipeline.from_pretrained(str(path), dtype=dtype, local_files_only=True,
                                                 safety_checker=None, requires_safety_checker=False)
    except (OSError, ValueError, EnvironmentError) as exc:
        raise ModelError(f"cannot load diffusers folder {path}: {exc}", field="model", value=str(path)) from None


def _from_single_file(path: Path, dtype):
    from diffusers import StableDiffusionPipeline, StableDiffusionXLPipeline
    from safetensors import safe_open

    if path.suffix != ".safetensors":
        raise ModelError("single-file checkpoints must be .safetensors (pickled .ckpt is not loaded)",
                         field="model", value=str(path))
    with safe_open(str(path), framework="pt") as handle:
        keys = set(handle.keys())
    is_sdxl = any(key.startswith("conditioner.embedders.1") for key in keys)
    pipeline_class = StableDiffusionXLPipeline if is_sdxl else StableDiffusionPipeline
    # The original-format file holds weights only; the component configs come from a local
    # diffusers folder ($ADGEN_SINGLE_FILE_CONFIG) or the HF cache, never a download.
    config = os.environ.get("ADGEN_SINGLE_FILE_CONFIG")
    try:
        return pipeline_class.from_single_file(str(path), dtype=dtype, local_files_only=True,
                                               **({"config": config} if config else {}))
    except Exception as exc:  # diffusers raises several types for a missing config
        family = "SDXL" if is_sdxl else "SD 1.5"
        raise ModelError(f"cannot load {family} single-file checkpoint {path}: {exc}. Point "
                         "ADGEN_SINGLE_FILE_CONFIG at a diffusers folder of the same family",
                         field="model", value=str(path)) from None


def _from_hub_cache(model: str, dtype):
    from diffusers import DiffusionPipeline
    from huggingface_hub import constants

    # Offline unless the user opts in: a model is never fetched behind their back.
    allow_download = os.environ.get("ADGEN_ALLOW_DOWNLOAD") == "1"
    try:
        return DiffusionPipeline.from_pretrained(model, dtype=dtype, local_files_only=not allow_download)
    except Exception as exc:
        raise ModelError(f"hub id not found in the local HF cache ({constants.HF_HUB_CACHE}); "
                         f"adgen does not download models: {type(exc).__name__}", field="model", value=model) from None


def _activate_adapter(pipe, adapter: tuple | None) -> None:
    """Switch the resident pipeline to a brand's adapter (name, path, weight, trigger), or to none."""
    if adapter is None and not _has_adapters(pipe):
        return
    from adgen.adapters import AdapterRef, activate_adapter

    ref = None
    if adapter is not None:
        name, path, weight, trigger = adapter
        ref = AdapterRef(name=name, path=path, weight=weight, trigger=trigger)
    activate_adapter(pipe, ref)


def _quiet_libraries() -> None:
    """diffusers/transformers print per-component bars and notices; adgen shows its own progress."""
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    diffusers_logging.disable_progress_bar()
    diffusers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()
    transformers_logging.set_verbosity_error()


def _has_adapters(pipe) -> bool:
    lister = getattr(pipe, "get_list_adapters", None)
    return bool(lister and any(lister().values()))


def _device() -> str:
    forced = os.environ.get("ADGEN_DEVICE")
    if forced:
        return forced
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _dtype_name(device: str) -> str:
    return "float16" if device.startswith("cuda") else "float32"


# -- Batched generation (the CSV batch) --------------------------------------------------------

def generate_many(prompts: list[Prompt], requests: list[ResolvedRequest],
                  plans: list[Plan | None] | None = None) -> list[Image.Image]:
    """Render the plates of several requests, one pipeline call per group that can share a batch.

    plans: each request's plan (the batch driver makes them before rendering), or None for
    plates made as before. One CPU generator per item keeps each plate's noise its own. The
    pipeline's arithmetic is not bit-identical across batch sizes (nor CPU thread counts), so
    callers keep the composition of a micro-batch fixed by their plan: the same items always
    share the same call.
    """
    plans = list(plans) if plans is not None else [None] * len(requests)
    plates: list[Image.Image | None] = [None] * len(requests)
    groups: dict[tuple, list[int]] = {}
    for index, request in enumerate(requests):
        if request.format.marketplace:
            plates[index] = Image.new("RGB", request.format.size.as_tuple(), WHITE)
            continue
        guided = plans[index] is not None and plans[index].product_box is not None
        key = (request.model, request.adapter_path, request.adapter_weight, request.brand.id,
               request.steps, request.guidance, request.format.size.as_tuple(), guided)
        groups.setdefault(key, []).append(index)
    for indices in groups.values():
        if len(indices) == 1:  # exactly what `adgen generate` makes for the same recipe
            plates[indices[0]] = generate(prompts[indices[0]], requests[indices[0]], plans[indices[0]])
            continue
        for index, plate in zip(indices, _generate_group([prompts[i] for i in indices],
                                                          [requests[i] for i in indices],
                                                          [plans[i] for i in indices])):
            plates[index] = plate
    return plates


def _generate_group(prompts: list[Prompt], requests: list[ResolvedRequest],
                    plans: list[Plan | None]) -> list[Image.Image]:
    import torch

    first = requests[0]
    pipe = load_pipeline(first.model)
    _activate_adapter(pipe, _adapter(first))
    width, height = plate_size(native_side(pipe), first.format.size, pipe.vae_scale_factor)
    negatives = [prompt.negative for prompt in prompts]
    uses, references = conditioner_uses(first.brand) or ((), None)   # one brand per group (the group key)
    guides = [_guide(pipe, plan, (width, height), bool(uses)) for plan in plans]
    if guides[0] is not None:  # a group is all guided or all not (the group key says which)
        from adgen.plate_guide import render_guided

        return render_guided(pipe, guides, prompts=[prompt.text for prompt in prompts], negatives=negatives,
                             size=(width, height), seeds=[request.seed for request in requests],
                             steps=first.steps, guidance=first.guidance, conditioners=uses, references=references)
    generators = [torch.Generator("cpu").manual_seed(request.seed) for request in requests]
    with torch.inference_mode():
        result = pipe(prompt=[prompt.text for prompt in prompts],
                      negative_prompt=negatives if any(negatives) else None,
                      width=width, height=height, num_inference_steps=first.steps,
                      guidance_scale=first.guidance, generator=generators, output_type="pil")
    return [image.convert("RGB") for image in result.images]
