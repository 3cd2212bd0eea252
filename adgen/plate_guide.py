"""Generating the plate around the plan: the product's own pixels held, calm ground under the copy.

The generator is given, at the plate's native size: a mask that frees everything but the
product's silhouette and an init image of the product's own pixels on a neutral grey.
A dedicated 9-channel inpainting UNet (adgen-tiny is one) reads mask and init through its own
input channels and is given the exact silhouette, so it sees where the product's base is to the
pixel; it blends nothing back, so it can paint no product colour outside the outline. A
plain 4-channel UNet keeps only latent cells wholly inside the silhouette (a kept cell straddling
the outline would paint product colour outside it) and (adgen-tiny, SD 1.5, SDXL) goes through the same inpainting pipelines'
latent blending at strength 1.0, so the whole plate is generated and the product's latents are
put back after every step. Under the copy slots a step callback pulls the latents toward their
own local mean (a box blur at latent resolution), held for most of the run, then fading, so the plate keeps
its colour and light there but loses fine detail. Pulling toward an even brand tone instead was
measured and dropped: it greyed the whole plate and raised the detail under the copy
(docs/BENCHMARKS.md, "Plan before pixels").
"""

from __future__ import annotations

import hashlib
import weakref
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFilter

from adgen.plan import Plan

GUIDE_VERSION = 3            # recorded in the recipe: a new way of guiding is a new plate (2: CALM_HOLD, 3: exact silhouette for 9 channels)
COPY_SPACE_STRENGTH = 1.0    # pull toward the local mean under the copy at the first step, 0-1
CALM_STEPS = 1.0             # fraction of the steps the pull lasts
CALM_HOLD = 0.8              # ... at full strength up to this fraction, then fading linearly to 0 at CALM_STEPS
BLUR_FRACTION = 0.25         # box-blur radius of the pull, of the plate's long side (1/16, 1/8, 1/4 measured)
NEUTRAL = (128, 128, 128)    # init outside the product: never kept (strength 1.0)


@dataclass(frozen=True)
class PlateGuide:
    """What the generator is given for one plate, at the plate's size."""

    init: Image.Image            # RGB: the product's own pixels on neutral grey
    mask: Image.Image            # L: 255 generate, 0 keep (the product's silhouette)
    calm: Image.Image            # L: 0-255 how much of the copy-space pull each px gets
    copy_strength: float


def guide_record(plan: Plan | None, calm_only: bool = False) -> dict | None:
    """What the recipe keeps of the guide: enough to know the plate was (and will be) made the same way.

    calm_only: a plan without a product whose copy space was still calmed (a 9-channel model)."""
    if plan is None or plan.marketplace:  # marketplace plates are plain white
        return None
    if plan.product_box is None:
        if not calm_only:
            return None
        mask, init = None, "none"
    else:
        mask = hashlib.sha256(plan.product_mask.tobytes() + repr(plan.product_box).encode()).hexdigest()
        init = "product-pixels"
    return {"version": GUIDE_VERSION, "plan_sha256": plan.digest(), "mask_sha256": mask,
            "init": init, "copy_space": "local-mean", "copy_space_strength": COPY_SPACE_STRENGTH,
            "calm_steps": CALM_STEPS, "calm_hold": CALM_HOLD, "blur_fraction": BLUR_FRACTION}


def plate_guide(plan: Plan, plate_size: tuple[int, int], vae_scale: int, whole_cells: bool = True) -> PlateGuide:
    """The plan, drawn at canvas size, then fitted back to the plate (compose cover-fits it the other way).

    whole_cells: keep only latent cells wholly inside the silhouette (a 4-channel UNet, whose kept
    latents are blended back); False gives the silhouette itself (a 9-channel UNet, which blends nothing).
    """
    canvas = plan.canvas.as_tuple()
    init = Image.new("RGB", canvas, NEUTRAL)
    calm = Image.new("L", canvas, 0)
    draw_calm = ImageDraw.Draw(calm)
    for _, box in plan.copy_boxes:
        draw_calm.rectangle((box.left, box.top, box.right - 1, box.bottom - 1), fill=255)
    # Soft edges: the calm ground fades into the plate instead of ending on a line.
    calm = calm.filter(ImageFilter.GaussianBlur(max(2, round(plan.canvas.shortest_side * 0.02))))
    keep = Image.new("L", canvas, 0)
    if plan.product_box is not None:
        corner = plan.product_box.as_tuple()[:2]
        init.paste(plan.product_pixels.convert("RGB"), corner, plan.product_mask)
        keep.paste(plan.product_mask.point(lambda a: 255 if a >= 128 else 0), corner)
    init, calm, keep = (_uncover(init, plate_size, NEUTRAL), _uncover(calm, plate_size, 0),
                        _uncover(keep, plate_size, 0))
    # A 4-channel pipeline blends the mask at latent resolution (one cell = vae_scale px): only cells
    # wholly inside the silhouette are kept, so the plate is generated right up to the product's edge
    # and no product colour is painted outside it (a halo under the cut-out's soft edge).
    keep = keep.point(lambda a: 255 if a >= 128 else 0)
    if whole_cells:
        keep = keep.reduce(vae_scale).point(lambda a: 255 if a == 255 else 0).resize(plate_size, Image.Resampling.NEAREST)
    calm = Image.composite(Image.new("L", plate_size, 0), calm, keep)
    return PlateGuide(init=init, mask=keep.point(lambda a: 255 - a), calm=calm, copy_strength=COPY_SPACE_STRENGTH)


def full_plate_guide(plate_size: tuple[int, int]) -> PlateGuide:
    """Nothing kept, nothing calmed: how a 9-channel inpainting model makes a plate without a product."""
    return PlateGuide(init=Image.new("RGB", plate_size, NEUTRAL), mask=Image.new("L", plate_size, 255),
                      calm=Image.new("L", plate_size, 0), copy_strength=0.0)


def render_plain(pipe, prompts: list[str], *, seeds: list[int], steps: int, guidance: float,
                 size: tuple[int, int] | None = None) -> list[Image.Image]:
    """Plates with no product placed (adapter evaluation, sample grids): text-to-image for a 4-channel UNet;
    a 9-channel one cannot run it, so it goes through the inpainting pipeline with nothing given."""
    import torch

    side = int(pipe.unet.config.sample_size) * int(pipe.vae_scale_factor)
    width, height = size or (side, side)
    if int(pipe.unet.config.in_channels) == 9:
        return render_guided(pipe, [full_plate_guide((width, height))] * len(prompts), prompts=prompts,
                             negatives=[None] * len(prompts), size=(width, height), seeds=seeds, steps=steps,
                             guidance=guidance)
    generators = [torch.Generator("cpu").manual_seed(seed) for seed in seeds]
    with torch.inference_mode():
        return list(pipe(prompts, width=width, height=height, num_inference_steps=steps, guidance_scale=guidance,
                         generator=generators).images)


def _uncover(image: Image.Image, plate_size: tuple[int, int], fill) -> Image.Image:
    """The inverse of ImageOps.fit(plate, canvas): what the plate must hold where the canvas shows it."""
    plate_w, plate_h = plate_size
    scale = max(image.width / plate_w, image.height / plate_h)
    covered = Image.new(image.mode, (round(plate_w * scale), round(plate_h * scale)), fill)
    covered.paste(image, ((covered.width - image.width) // 2, (covered.height - image.height) // 2))
    resample = Image.Resampling.LANCZOS if image.mode == "RGB" else Image.Resampling.BILINEAR
    return covered.resize(plate_size, resample)


def render_guided(pipe, guides: list[PlateGuide], *, prompts: list[str], negatives: list[str | None],
                  size: tuple[int, int], seeds: list[int], steps: int, guidance: float,
                  output_type: str = "pil", conditioners: tuple = (), references: list | None = None) -> list[Image.Image]:
    """One inpainting call for a batch of plates, each with its own guide, noise and copy-space pull.

    output_type="latent" returns the final latents instead (the tests read the kept cells there).
    conditioners: adgen.conditioners.ConditionerUse values (ControlNet, IP-Adapter) the plate is also
    steered by, their control images made from each guide; references: an IP-Adapter's images.
    """
    if conditioners:
        from adgen.conditioners import conditioned, control_inputs

        with conditioned(pipe, tuple(conditioners)) as inpaint:
            return _render(inpaint, guides, prompts=prompts, negatives=negatives, size=size, seeds=seeds, steps=steps,
                           guidance=guidance, output_type=output_type,
                           extra=control_inputs(tuple(conditioners), guides, references))
    return _render(_inpainting(pipe), guides, prompts=prompts, negatives=negatives, size=size, seeds=seeds,
                   steps=steps, guidance=guidance, output_type=output_type, extra={})


def _render(inpaint, guides: list[PlateGuide], *, prompts, negatives, size, seeds, steps, guidance, output_type,
            extra: dict) -> list[Image.Image]:
    import torch

    width, height = size
    with torch.inference_mode():
        latent_size = (height // inpaint.vae_scale_factor, width // inpaint.vae_scale_factor)
        calm = _CalmCopySpace(guides, latent_size)
        hold = None
        if "control_image" in extra:
            # The ControlNet inpainting pipelines mask the init at pixel size and encode it themselves
            # (a draw from the VAE's posterior: SD's is narrow); they take no latents for it.
            images = {"image": [g.init for g in guides]}
        elif int(inpaint.unet.config.in_channels) == 4:
            # The init's latents, encoded once: the pipeline takes them as they are (it would encode
            # the init twice, for the blend and for a masked image a 4-channel UNet never reads).
            init_latents = _encode(inpaint, guides, size)
            images = {"image": init_latents, "masked_image_latents": init_latents}
            if getattr(inpaint.unet, "holds_known_cells_clean", False):
                hold = _HeldCells(guides, init_latents, latent_size)
        else:
            # The masked init's latents at the mode, as adgen-tiny was trained (the pipeline would draw
            # from the posterior: adgen-tiny's is wide, its spread 15 % of the latents).
            images = {"image": [g.init for g in guides], "masked_image_latents": _encode(inpaint, guides, size, masked=True)}
        generators = [torch.Generator("cpu").manual_seed(seed) for seed in seeds]
        if hold is not None:  # the first step already sees the product's cells clean
            images["latents"] = hold.initial(generators, inpaint)
        callback = _Steps(calm, hold)
        result = inpaint(prompt=prompts, negative_prompt=negatives if any(negatives) else None,
                         mask_image=[g.mask for g in guides], width=width, height=height, strength=1.0,
                         num_inference_steps=steps, guidance_scale=guidance, generator=generators,
                         output_type=output_type, callback_on_step_end=callback if callback.active else None,
                         callback_on_step_end_tensor_inputs=["latents"], **images, **extra)
    if output_type == "latent":
        return result.images
    return [image.convert("RGB") for image in result.images]


def _encode(pipe, guides: list[PlateGuide], size: tuple[int, int], masked: bool = False):
    """The inits' latents (the distribution's mode: no noise drawn), scaled as the UNet sees them;
    masked: with the pixels to generate blanked first, as the inpainting pipelines mask the init."""
    width, height = size
    pixels = pipe.image_processor.preprocess([g.init for g in guides], height=height, width=width)
    if masked:
        pixels = pixels * (pipe.mask_processor.preprocess([g.mask for g in guides], height=height, width=width) < 0.5)
    vae = pipe.vae
    upcast = bool(getattr(vae.config, "force_upcast", False)) and vae.dtype != pixels.dtype
    source = vae.float() if upcast else vae
    latents = source.encode(pixels.to(device=pipe._execution_device, dtype=source.dtype)).latent_dist.mode()
    if upcast:
        vae.to(pipe.unet.dtype)
    return (latents * vae.config.scaling_factor).to(pipe.unet.dtype)


_INPAINTING: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _inpainting(pipe):
    """The inpainting pipeline over the loaded pipeline's own components (from_pipe: no reload, no copy)."""
    from diffusers import StableDiffusionInpaintPipeline, StableDiffusionXLInpaintPipeline

    if isinstance(pipe, (StableDiffusionInpaintPipeline, StableDiffusionXLInpaintPipeline)):
        return pipe
    if pipe not in _INPAINTING:
        kind = StableDiffusionXLInpaintPipeline if hasattr(pipe, "text_encoder_2") else StableDiffusionInpaintPipeline
        inpaint = kind.from_pipe(pipe)
        inpaint.set_progress_bar_config(disable=True)
        _INPAINTING[pipe] = inpaint
    return _INPAINTING[pipe]


class _HeldCells:
    """A product's latent cells held clean at every step (for a model trained that way), not re-noised."""

    def __init__(self, guides: list[PlateGuide], init_latents, latent_size: tuple[int, int]):
        import torch
        import torch.nn.functional as F

        keep = torch.stack([torch.from_numpy(1 - _as_float(g.mask)) for g in guides]).unsqueeze(1)
        # The mask is already whole cells (plate_guide): a cell is held when all of it is kept.
        self.kept = F.interpolate(keep, size=latent_size, mode="area") > 0.999
        self.init_latents = init_latents

    def initial(self, generators, pipe):
        """The pipeline's own noise draw (same generators, same shape), the held cells put in clean."""
        from diffusers.utils.torch_utils import randn_tensor

        noise = randn_tensor(tuple(self.init_latents.shape), generator=generators, device=self.init_latents.device,
                             dtype=self.init_latents.dtype)
        return self.put_back(noise) / pipe.scheduler.init_noise_sigma  # the pipeline multiplies it back

    def put_back(self, latents):
        return latents.where(~self.kept.to(latents.device), self.init_latents.to(latents.dtype))


class _Steps:
    """The step callback: the copy-space pull, then the held cells put back."""

    def __init__(self, calm: "_CalmCopySpace", hold: _HeldCells | None):
        self.calm, self.hold = calm, hold
        self.active = calm.active or hold is not None

    def __call__(self, pipe, step: int, timestep, kwargs: dict) -> dict:
        out = self.calm(pipe, step, timestep, kwargs) if self.calm.active else {}
        if self.hold is not None:
            out = {"latents": self.hold.put_back(out.get("latents", kwargs["latents"]))}
        return out


class _CalmCopySpace:
    """A step callback: under the copy, latents pulled toward their own local mean, fading out."""

    def __init__(self, guides: list[PlateGuide], latent_size: tuple[int, int]):
        self.active = any(g.copy_strength > 0 and g.calm.getextrema()[1] > 0 for g in guides)
        if not self.active:
            return
        import torch
        import torch.nn.functional as F

        weights = torch.stack([torch.from_numpy(_as_float(g.calm)) * g.copy_strength for g in guides]).unsqueeze(1)
        self.weights = F.interpolate(weights, size=latent_size, mode="area")

    def __call__(self, pipe, step: int, timestep, kwargs: dict) -> dict:
        import torch.nn.functional as F

        kept = max(1, round(len(pipe.scheduler.timesteps) * CALM_STEPS))
        if step >= kept:
            return {}
        latents = kwargs["latents"]
        # A box blur BLUR_FRACTION of the plate's long side: the region keeps its tone, loses its detail.
        radius = max(1, round(max(latents.shape[2:]) * BLUR_FRACTION))
        local_mean = F.avg_pool2d(latents, 2 * radius + 1, stride=1, padding=radius, count_include_pad=False)
        hold = min(kept, round(len(pipe.scheduler.timesteps) * CALM_HOLD))
        # Full strength while the layout forms, fading over the last steps so the plate's own texture
        # comes back evenly (a pull fading from the first step left the copy space 40 % busier).
        fade = 1.0 if step < hold else 1 - (step - hold) / max(1, kept - hold)
        pull = self.weights.to(latents.device, latents.dtype) * fade
        return {"latents": latents + pull * (local_mean - latents)}


def _as_float(image: Image.Image):
    import numpy as np

    return np.asarray(image, dtype=np.float32) / 255.0
