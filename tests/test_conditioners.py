"""Plate conditioners: the registry is data, nothing is downloaded, and a ControlNet built from the
tiny UNets steers the plate through diffusers' real ControlNet inpainting pipelines (SD 1.5, SDXL)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from adgen.conditioners import depth_from_guide, parse_use, registry
from adgen.errors import InputError
from adgen.generation import load_pipeline, native_side, plate_size
from adgen.plan import plan
from adgen.plate_guide import plate_guide, render_guided
from adgen.request import AssetRequest, resolve


def _controlnet_dir(model_dir, folder):
    """ControlNetModel.from_unet over the tiny pipeline's UNet, its zero convolutions given weights (else it adds nothing)."""
    import torch
    from diffusers import ControlNetModel, UNet2DConditionModel

    unet = UNet2DConditionModel.from_pretrained(model_dir / "unet")
    controlnet = ControlNetModel.from_unet(unet, conditioning_embedding_out_channels=(8, 16))
    torch.manual_seed(1)
    with torch.no_grad():
        for name, parameter in controlnet.named_parameters():
            if "zero_conv" in name or "controlnet_mid_block" in name or "conv_out" in name:
                parameter.normal_(0, 0.2)
    controlnet.save_pretrained(folder, safe_serialization=True)
    return folder


@pytest.fixture(scope="module")
def sd15_controlnet(sd15_dir, tmp_path_factory):
    return _controlnet_dir(sd15_dir, tmp_path_factory.mktemp("cn") / "sd15-depth")


@pytest.fixture(scope="module")
def sdxl_controlnet(sdxl_dir, tmp_path_factory):
    return _controlnet_dir(sdxl_dir, tmp_path_factory.mktemp("cn") / "sdxl-depth")


def test_the_registry_is_data_with_controlnet_and_ip_adapter_rows():
    rows = registry()
    assert {"controlnet-depth", "controlnet-inpaint", "ip-adapter"} <= set(rows)
    assert {row.kind for row in rows.values()} == {"controlnet", "ip_adapter"}
    assert all(dict(row.pipelines) for row in rows.values())


@pytest.mark.parametrize("text, named", [
    ("controlnet-depth=/no/such/folder", "/no/such/folder"),
    ("no-such-conditioner=/tmp", "no-such-conditioner"),
    ("controlnet-depth", "controlnet-depth"),
])
def test_a_missing_path_or_unknown_name_is_an_input_error_naming_it(text, named):
    with pytest.raises(InputError) as error:
        parse_use(text)
    assert named in str(error.value)


def test_a_folder_without_the_needed_file_is_named(tmp_path):
    with pytest.raises(InputError) as error:
        parse_use(f"controlnet-depth={tmp_path}@0.5")
    assert "config.json" in str(error.value)


def _guided(product, model_dir):
    resolved = resolve(AssetRequest(product=product, brand="northwind", format="ig-square", model=str(model_dir),
                                    steps=3))
    pipe = load_pipeline(resolved.model)
    size = plate_size(native_side(pipe), resolved.format.size, pipe.vae_scale_factor)
    return resolved, pipe, size, plate_guide(plan(resolved), size, pipe.vae_scale_factor)


def test_depth_is_drawn_from_the_plan_the_product_nearest_on_a_rising_floor(cold_brew, sd15_dir):
    _, _, _, guide = _guided(cold_brew, sd15_dir)
    depth = np.asarray(depth_from_guide(guide).convert("L"), dtype=float)
    keep = np.asarray(guide.mask) < 128
    assert depth[keep].mean() > depth[~keep].mean()
    assert depth[-1].mean() > depth[0].mean()          # the floor comes nearer toward the bottom


@pytest.mark.parametrize("family", ["sd15", "sdxl"])
def test_a_controlnet_steers_the_plate_and_the_product_stays(request, cold_brew, family):
    model_dir = request.getfixturevalue(f"{family}_dir")
    controlnet = request.getfixturevalue(f"{family}_controlnet")
    resolved, pipe, size, guide = _guided(cold_brew, model_dir)
    common = {"prompts": ["a plate"], "negatives": [None], "size": size, "seeds": [resolved.seed], "steps": 3,
              "guidance": resolved.guidance}
    plain = render_guided(pipe, [guide], **common)[0]
    use = parse_use(f"controlnet-depth={controlnet}@1.0")
    steered = render_guided(pipe, [guide], conditioners=(use,), **common)[0]
    from diffusers import StableDiffusionControlNetInpaintPipeline, StableDiffusionXLControlNetInpaintPipeline

    from adgen.conditioners import conditioned

    kind = StableDiffusionXLControlNetInpaintPipeline if family == "sdxl" else StableDiffusionControlNetInpaintPipeline
    assert isinstance(conditioned(pipe, (use,)), kind)
    assert conditioned(pipe, (use,)).unet is pipe.unet   # from_pipe: the loaded weights, not a copy
    assert steered.size == plain.size == size
    free = np.asarray(guide.mask.convert("L")) >= 128
    difference = np.abs(np.asarray(steered, float) - np.asarray(plain, float)).mean(-1)
    assert difference[free].mean() > 1.0                  # the ControlNet changed the generated plate
    import torch

    from adgen.plate_guide import _encode

    latents = render_guided(pipe, [guide], conditioners=(use,), output_type="latent", **common)
    with torch.inference_mode():
        init = _encode(pipe, [guide], size)
    scale = pipe.vae_scale_factor
    keep = np.asarray(guide.mask.resize((size[0] // scale, size[1] // scale), Image.Resampling.NEAREST)) == 0
    assert keep.sum() > 4
    # The ControlNet inpainting pipelines encode the init themselves, drawing from the VAE's posterior
    # (this random toy VAE's is wide), so the kept cells hold a draw of the product's latents, not the
    # mode: they move far less than the generated cells. Compose pastes the product's own pixels anyway.
    delta = (latents - init).abs()[0].mean(dim=0).numpy()
    assert delta[keep].mean() < 0.5 * delta[~keep].mean()


def test_an_inpaint_controlnet_takes_the_init_with_the_free_pixels_at_minus_one(cold_brew, sd15_dir, sd15_controlnet):
    from adgen.conditioners import inpaint_condition

    resolved, pipe, size, guide = _guided(cold_brew, sd15_dir)
    condition = inpaint_condition(guide)
    free = np.asarray(guide.mask) >= 128
    assert condition.shape == (1, 3, size[1], size[0])
    assert float(condition[0, :, free].max()) == -1.0 and float(condition[0, :, ~free].min()) >= 0
    use = parse_use(f"controlnet-inpaint={sd15_controlnet}")
    plate = render_guided(pipe, [guide], prompts=["a plate"], negatives=[None], size=size, seeds=[1], steps=2,
                          guidance=resolved.guidance, conditioners=(use,))[0]
    assert isinstance(plate, Image.Image) and plate.size == size


def test_a_brand_kits_conditioner_steers_run_and_the_recipe_records_it(cold_brew, sd15_dir, sd15_controlnet, tmp_path):
    import json

    from adgen.brand import ConditionerRef, load_brand
    from adgen.pipeline import run

    kit = load_brand("northwind")
    steered_kit = kit.model_copy(update={"conditioners": (ConditionerRef(name="controlnet-depth", path=str(sd15_controlnet),
                                                                         scale=1.0),)})
    request = AssetRequest(product=cold_brew, brand="northwind", format="ig-square", model=str(sd15_dir), steps=2)
    plain = run(request, None, brand=kit)
    steered = run(request, tmp_path, brand=steered_kit)
    assert not np.array_equal(np.asarray(plain.composition.plate), np.asarray(steered.composition.plate))
    report = json.loads(next(tmp_path.rglob("*.report.json")).read_text())
    assert report["recipe"]["conditioners"] == [{"name": "controlnet-depth", "path": str(sd15_controlnet), "scale": 1.0}]


def test_a_brand_kits_missing_conditioner_path_is_an_input_error(cold_brew, sd15_dir, tmp_path):
    from adgen.brand import ConditionerRef, load_brand
    from adgen.pipeline import run

    kit = load_brand("northwind").model_copy(update={"conditioners": (
        ConditionerRef(name="controlnet-depth", path=str(tmp_path / "absent")),)})
    request = AssetRequest(product=cold_brew, brand="northwind", format="ig-square", model=str(sd15_dir), steps=2)
    with pytest.raises(InputError) as error:
        run(request, None, brand=kit)
    assert str(tmp_path / "absent") in str(error.value)
