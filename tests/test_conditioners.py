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
    with conditioned(pipe, (use,)) as pipeline:
        assert isinstance(pipeline, kind)
        assert pipeline.unet is pipe.unet                # from_pipe: the loaded weights, not a copy
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


def _ip_adapter_dir(unet, folder):
    """A toy IP-Adapter in the layout load_ip_adapter reads: image_encoder/ (CLIP vision with projection) and
    ip_adapter.safetensors (image_proj: 4 tokens; to_k_ip/to_v_ip for every cross-attention, keys 1, 3, 5...)."""
    import torch
    from safetensors.torch import save_file
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.manual_seed(3)
    folder.mkdir(parents=True)
    CLIPVisionModelWithProjection(CLIPVisionConfig(
        hidden_size=32, projection_dim=32, image_size=32, patch_size=8, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=37)).save_pretrained(folder / "image_encoder", safe_serialization=True)
    cross, channels = unet.config.cross_attention_dim, list(unet.config.block_out_channels)
    weights = {"image_proj.proj.weight": torch.randn(4 * cross, 32) * 0.2, "image_proj.proj.bias": torch.zeros(4 * cross),
               "image_proj.norm.weight": torch.ones(cross), "image_proj.norm.bias": torch.zeros(cross)}
    key = 1
    for name in unet.attn_processors:
        if name.endswith("attn1.processor"):
            continue
        block = int(name.split(".")[1]) if not name.startswith("mid_block") else -1
        hidden = channels[-1] if block < 0 else (channels[::-1] if name.startswith("up_blocks") else channels)[block]
        weights[f"ip_adapter.{key}.to_k_ip.weight"] = torch.randn(hidden, cross) * 0.2
        weights[f"ip_adapter.{key}.to_v_ip.weight"] = torch.randn(hidden, cross) * 0.2
        key += 2
    save_file(weights, str(folder / "ip_adapter.safetensors"))
    return folder


def test_an_ip_adapter_steers_the_plate_from_a_reference_and_is_unloaded_after(cold_brew, sd15_dir, tmp_path):
    resolved, pipe, size, guide = _guided(cold_brew, sd15_dir)
    use = parse_use(f"ip-adapter={_ip_adapter_dir(pipe.unet, tmp_path / 'ipa')}@1.0")
    common = {"prompts": ["a plate"], "negatives": [None], "size": size, "seeds": [resolved.seed], "steps": 2,
              "guidance": resolved.guidance}
    plain = render_guided(pipe, [guide], **common)[0]
    processors = {name: type(p) for name, p in pipe.unet.attn_processors.items()}
    blue = render_guided(pipe, [guide], conditioners=(use,), references=[Image.new("RGB", (40, 40), (0, 0, 255))],
                         **common)[0]
    red = render_guided(pipe, [guide], conditioners=(use,), references=[Image.new("RGB", (40, 40), (255, 0, 0))],
                        **common)[0]
    free = np.asarray(guide.mask) >= 128
    assert np.abs(np.asarray(blue, float) - np.asarray(red, float)).mean(-1)[free].mean() > 0.5  # the reference steers
    # Unloaded after the call: the shared UNet's processors are the plain ones again, and so is the plate.
    assert {name: type(p) for name, p in pipe.unet.attn_processors.items()} == processors
    assert np.array_equal(np.asarray(render_guided(pipe, [guide], **common)[0]), np.asarray(plain))


def test_an_ip_adapter_without_reference_images_names_the_style_folder(cold_brew, sd15_dir, tmp_path):
    resolved, pipe, size, guide = _guided(cold_brew, sd15_dir)
    use = parse_use(f"ip-adapter={_ip_adapter_dir(pipe.unet, tmp_path / 'ipa')}")
    with pytest.raises(InputError) as error:
        render_guided(pipe, [guide], prompts=["a plate"], negatives=[None], size=size, seeds=[1], steps=1,
                      guidance=resolved.guidance, conditioners=(use,), references=[])
    assert "style/" in str(error.value)
