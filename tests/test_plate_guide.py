"""Generating the plate around the plan: tiny real SD 1.5 and SDXL pipelines, 4- and 9-channel UNets."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from adgen.generation import generate, generate_many, load_pipeline, native_side, plate_size
from adgen.pipeline import run
from adgen.plan import plan
from adgen.plate_guide import guide_record, plate_guide, render_guided
from adgen.prompt import build_prompt
from adgen.request import AssetRequest, resolve

FAMILIES = ["sd15_dir", "sdxl_dir", "sd15_inpaint_dir", "sdxl_inpaint_dir"]


@pytest.fixture(scope="session")
def sd15_inpaint_dir(tmp_path_factory, torch_warm):
    from tiny_pipelines import build_sd15, save

    return save(build_sd15(seed=0, in_channels=9), tmp_path_factory.mktemp("models") / "tiny-sd15-inpaint")


@pytest.fixture(scope="session")
def sdxl_inpaint_dir(tmp_path_factory, torch_warm):
    from tiny_pipelines import build_sdxl, save

    return save(build_sdxl(seed=0, in_channels=9), tmp_path_factory.mktemp("models") / "tiny-sdxl-inpaint")


def request_for(product, model, fmt="ig-square", **extra):
    return AssetRequest(product=product, brand="northwind", format=fmt, model=str(model), steps=3, **extra)


def guided(product, model, fmt="ig-square"):
    resolved = resolve(request_for(product, model, fmt))
    pipe = load_pipeline(resolved.model)
    size = plate_size(native_side(pipe), resolved.format.size, pipe.vae_scale_factor)
    return resolved, pipe, size, plate_guide(plan(resolved), size, pipe.vae_scale_factor)


@pytest.mark.parametrize("family", ["sd15_dir", "sdxl_dir"])
def test_a_4_channel_unet_keeps_the_products_latents_and_generates_the_rest(request, cold_brew, family):
    from adgen.plate_guide import _encode

    resolved, pipe, size, guide = guided(cold_brew, request.getfixturevalue(family))
    latents = render_guided(pipe, [guide], prompts=["a plate"], negatives=[None], size=size, seeds=[resolved.seed],
                            steps=3, guidance=resolved.guidance, output_type="latent")
    import torch

    with torch.inference_mode():
        init = _encode(pipe, [guide], size)
    scale = pipe.vae_scale_factor
    keep = np.asarray(guide.mask.resize((size[0] // scale, size[1] // scale), Image.Resampling.NEAREST)) == 0
    assert keep.sum() > 4, "the product keeps some latent cells"
    delta = (latents - init).abs()[0].mean(dim=0).numpy()
    assert delta[keep].max() < 1e-4                      # the product's own latents, untouched
    assert delta[~keep].mean() > 0.1                     # everything else generated


@pytest.mark.parametrize("trained_with_held_cells", [False, True])
def test_a_model_trained_with_held_cells_sees_the_product_clean_from_the_first_step(sd15_dir, cold_brew,
                                                                                   trained_with_held_cells):
    import torch

    from adgen.plate_guide import _encode

    resolved, pipe, size, guide = guided(cold_brew, sd15_dir)
    with torch.inference_mode():
        init = _encode(pipe, [guide], size)
    scale = pipe.vae_scale_factor
    keep = torch.from_numpy(np.asarray(guide.mask.resize((size[0] // scale, size[1] // scale),
                                                         Image.Resampling.NEAREST)) == 0)
    seen = []   # per UNet call: the largest distance of the held cells from the product's latents
    hook = pipe.unet.register_forward_pre_hook(
        lambda module, args: seen.append(float((args[0][:, :, keep] - init[:, :, keep]).abs().max())))
    pipe.unet.holds_known_cells_clean = trained_with_held_cells
    try:
        latents = render_guided(pipe, [guide], prompts=["a plate"], negatives=[None], size=size,
                                seeds=[resolved.seed], steps=3, guidance=resolved.guidance, output_type="latent")
    finally:
        hook.remove()
        pipe.unet.holds_known_cells_clean = False
    assert len(seen) == 3 and (latents - init)[:, :, keep].abs().max() < 1e-4
    if trained_with_held_cells:
        assert max(seen) < 1e-4                    # clean at every step, the first included
    else:
        assert seen[0] > 0.5 and seen[-1] > 0.01   # re-noised to each step's level, as SD models expect


@pytest.mark.parametrize("family", FAMILIES)
def test_run_generates_around_the_product_and_composes_its_own_pixels(request, cold_brew, family):
    model = request.getfixturevalue(family)
    resolved, pipe, size, guide = guided(cold_brew, model)
    planned = np.asarray(generate(build_prompt(resolved), resolved, plan(resolved)), dtype=float)
    free = np.asarray(guide.mask) == 255
    init = np.asarray(guide.init, dtype=float)
    assert np.abs(planned - init)[free].mean() > 5       # the plate around the product is generated
    result = run(request_for(cold_brew, model), None)
    layout = plan(result.request)
    box = result.composition.layer("product").box
    assert box == layout.product_box
    solid = np.asarray(layout.product_mask) == 255
    placed = np.asarray(result.composition.image.crop(box.as_tuple()))[solid]
    own = np.asarray(layout.product_pixels.convert("RGB"))[solid]
    assert np.array_equal(placed, own)                   # the product is never redrawn
    assert result.timings_ms and "product-pixels" == result_recipe(result)["plate_guide"]["init"]


def result_recipe(result):
    from adgen.pipeline import recipe

    # The recipe run() encodes: recipe() plus what the draft adds; rebuilt as _encode_draft does.
    from adgen.fixes import Draft
    from adgen.pipeline import _encode_draft

    draft = Draft(result.request, result.prompt, result.composition.plate, result.composition,
                  plan=plan(result.request))
    assert recipe(result.request, result.prompt)["seed"] == result.request.seed
    return _encode_draft(draft)[0]


@pytest.mark.parametrize("family", FAMILIES)
def test_the_plate_depends_on_the_plan(request, cold_brew, family):
    """The generator is given the plan: no plan (or another product box) makes another plate."""
    model = request.getfixturevalue(family)
    resolved = resolve(request_for(cold_brew, model))
    prompt = build_prompt(resolved)
    planned = np.asarray(generate(prompt, resolved, plan(resolved)), dtype=float)
    other = resolve(request_for(cold_brew, model, fmt="story"))
    assert planned.shape == (64, 64, 3)
    unplanned = np.asarray(generate(prompt, resolved), dtype=float)
    assert np.abs(planned - unplanned).mean() > 1
    assert plan(other).product_box != plan(resolved).product_box


@pytest.mark.parametrize("family", ["sd15_dir", "sdxl_dir"])
def test_without_a_product_the_plate_is_made_exactly_as_before(request, cold_brew, family):
    model = request.getfixturevalue(family)
    resolved = resolve(request_for(cold_brew.model_copy(update={"product_image": None}), model))
    prompt = build_prompt(resolved)
    assert plan(resolved).product_box is None
    without = np.asarray(generate(prompt, resolved))
    assert np.array_equal(np.asarray(generate(prompt, resolved, plan(resolved))), without)
    assert guide_record(plan(resolved)) is None


def test_a_9_channel_model_makes_a_plate_without_a_product(sd15_inpaint_dir, cold_brew):
    resolved = resolve(request_for(cold_brew.model_copy(update={"product_image": None}), sd15_inpaint_dir))
    plate = generate(build_prompt(resolved), resolved)
    assert plate.size == (64, 64)


def test_a_9_channel_model_is_given_the_products_exact_silhouette(sd15_inpaint_dir, sd15_dir, cold_brew):
    """A 9-channel UNet reads the mask itself and blends nothing back: it is shown the whole product, its
    base included, not only the latent cells wholly inside it (what a 4-channel model keeps)."""
    from adgen.generation import _guide

    resolved, plain, size, cells = guided(cold_brew, sd15_dir)
    pipe, cell = load_pipeline(str(sd15_inpaint_dir)), plain.vae_scale_factor
    exact = _guide(pipe, plan(resolved), size)
    kept_cells, kept_exact = np.asarray(cells.mask) == 0, np.asarray(exact.mask) == 0
    assert np.array_equal(kept_cells, np.asarray(_guide(load_pipeline(str(sd15_dir)), plan(resolved), size).mask) == 0)
    assert (kept_cells <= kept_exact).all() and kept_exact.sum() > kept_cells.sum()
    # Its lowest kept row is the product's base on the plate, below the lowest whole cell.
    assert np.nonzero(kept_exact.any(axis=1))[0].max() > np.nonzero(kept_cells.any(axis=1))[0].max()
    # Whole cells, and only those, for the 4-channel model: every latent cell all kept or all free.
    blocks = kept_cells.reshape(size[1] // cell, cell, size[0] // cell, cell)
    assert (blocks.all(axis=(1, 3)) == blocks.any(axis=(1, 3))).all()


def test_a_9_channel_model_calms_the_copy_space_without_a_product(sd15_inpaint_dir, cold_brew, tmp_path):
    """No product photo: an inpainting model still goes through the guided call, so it gets the plan's calm
    copy space with nothing kept, and the recipe says so; a 4-channel model makes its plate as before."""
    import json

    from adgen.generation import _guide

    bare = cold_brew.model_copy(update={"product_image": None})
    resolved = resolve(request_for(bare, sd15_inpaint_dir))
    layout, pipe = plan(resolved), load_pipeline(str(sd15_inpaint_dir))
    size = plate_size(native_side(pipe), resolved.format.size, pipe.vae_scale_factor)
    guide = _guide(pipe, layout, size)
    assert layout.product_box is None and layout.copy_boxes
    assert np.asarray(guide.mask).min() == 255                       # nothing kept
    assert np.asarray(guide.calm).max() == 255 and guide.copy_strength > 0
    plate = generate(build_prompt(resolved), resolved, layout)
    assert not np.array_equal(np.asarray(plate), np.asarray(generate(build_prompt(resolved), resolved, None)))
    recorded = json.loads(run(request_for(bare, sd15_inpaint_dir), tmp_path).files.report.read_text())["recipe"]
    assert recorded["plate_guide"]["init"] == "none" and recorded["plate_guide"]["mask_sha256"] is None
    assert recorded["plate_guide"]["plan_sha256"] == layout.digest()


def test_the_recipe_remakes_the_same_pixels(sd15_dir, cold_brew, tmp_path):
    first = run(request_for(cold_brew, sd15_dir), tmp_path / "a")
    again = run(request_for(cold_brew, sd15_dir), tmp_path / "b")
    import json

    recorded = json.loads(first.files.report.read_text())["recipe"]
    guide = recorded["plate_guide"]
    assert guide["plan_sha256"] == plan(first.request).digest()
    assert guide["copy_space_strength"] > 0 and len(guide["mask_sha256"]) == 64
    # Remade from the recipe's request fields: the same plate, the same asset.
    remade = run(AssetRequest(product=recorded["product"], brand=recorded["brand"], format=recorded["format"],
                              variant=recorded["variant"], seed=recorded["base_seed"], model=str(sd15_dir),
                              steps=recorded["steps"], guidance=recorded["guidance"]), None)
    assert np.array_equal(np.asarray(first.composition.plate), np.asarray(again.composition.plate))
    assert np.array_equal(np.asarray(first.composition.plate), np.asarray(remade.composition.plate))


def test_run_plans_before_it_generates_and_generates_with_the_plan(sd15_dir, cold_brew):
    given = []

    def make_plate(prompt, resolved, layout):
        given.append(layout)
        return generate(prompt, resolved, layout)

    result = run(request_for(cold_brew, sd15_dir), None, make_plate=make_plate)
    assert list(result.timings_ms) == ["resolve", "prompt", "plan", "generate", "compose", "check", "export"]
    assert given[0].product_box == result.composition.layer("product").box


def test_generate_many_takes_the_plans(sd15_dir, cold_brew):
    requests = [resolve(request_for(cold_brew, sd15_dir, variant=v)) for v in (1, 2)]
    prompts = [build_prompt(r) for r in requests]
    plans = [plan(r) for r in requests]
    planned = generate_many(prompts, requests, plans)
    unplanned = generate_many(prompts, requests)
    for a, b in zip(planned, unplanned):
        assert np.abs(np.asarray(a, dtype=float) - np.asarray(b, dtype=float)).mean() > 1
    # A group of one is exactly what generate makes.
    assert np.array_equal(np.asarray(generate_many(prompts[:1], requests[:1], plans[:1])[0]),
                          np.asarray(generate(prompts[0], requests[0], plans[0])))
