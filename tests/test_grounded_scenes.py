"""adgen-tiny's grounding data: an object standing on a floor with its shadow, and fine-tuning from a trained model."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from adgen.errors import InputError
from adgen.training.base import BaseTrainConfig, train_base
from adgen.training.grounded_scenes import grounded_caption, render_grounded, sample_grounded

SMOKE_CONFIG = Path(__file__).resolve().parents[1] / "adgen" / "tiny" / "train-smoke.yaml"
GROUNDED_CONFIG = Path(__file__).resolve().parents[1] / "adgen" / "tiny" / "train-grounded.yaml"


def _luma(image) -> np.ndarray:
    return np.asarray(image.convert("L"), dtype=np.float32)


@pytest.mark.parametrize("seed", range(12))
def test_the_floor_just_under_the_base_is_darker_than_beside_it(seed):
    scene = sample_grounded(seed)
    size = 128
    image, plain = render_grounded(scene, size), render_grounded(replace(scene, height=0.0, width=1e-4), size)
    assert scene.base_y > scene.backdrop.horizon          # it stands on the floor, not on the wall
    base = int(scene.base_y * size)
    left = int((scene.centre_x - scene.width / 2) * size) + 2
    right = int((scene.centre_x + scene.width / 2) * size) - 2
    under = _luma(image)[base + 1:base + 3, left:right].mean()
    same_rows_without = _luma(plain)[base + 1:base + 3, left:right].mean()
    assert under < same_rows_without - 3


def test_scenes_and_captions_are_seeded():
    assert sample_grounded(5) == sample_grounded(5)
    assert np.array_equal(np.asarray(render_grounded(sample_grounded(5))), np.asarray(render_grounded(sample_grounded(5))))
    assert "product standing on a surface, contact shadow" in grounded_caption(sample_grounded(5))
    assert "contact shadow" in grounded_caption(sample_grounded(5), short=True)


def test_shipped_fine_tune_config_reads():
    config = BaseTrainConfig.from_yaml(GROUNDED_CONFIG)
    assert 0 < config.grounded_rate < 1 and 0 < config.known_rate <= 1 and config.threads >= 1


def test_held_cells_are_the_latent_cells_wholly_inside_the_object():
    from adgen.training.base import LATENT_SCALE, _known_cells, _render_dataset
    from adgen.training.grounded_scenes import object_coverage

    config = replace(BaseTrainConfig.from_yaml(SMOKE_CONFIG), num_images=12, grounded_rate=0.5)
    _, captions, silhouettes = _render_dataset(config)
    known = _known_cells(silhouettes)
    grounded = ["contact shadow" in full for full, _ in captions]
    assert sum(grounded) == 6 and not known[[not g for g in grounded]].any()   # backdrops hold nothing
    assert known[grounded].any(axis=(1, 2)).sum() >= 4                          # most objects span a cell
    for i in np.nonzero(grounded)[0]:
        seed = config.data_seed * 100_003 + int(i)
        coverage = object_coverage(sample_grounded(seed), config.resolution)
        for cy, cx in zip(*np.nonzero(known[i])):
            cell = coverage[cy * LATENT_SCALE:(cy + 1) * LATENT_SCALE, cx * LATENT_SCALE:(cx + 1) * LATENT_SCALE]
            assert cell.min() >= 0.5


def test_fine_tune_starts_from_the_trained_model_and_keeps_its_latent_scale(tmp_path):
    import torch
    from diffusers import AutoencoderKL, UNet2DConditionModel

    base = train_base(BaseTrainConfig.from_yaml(SMOKE_CONFIG), tmp_path / "base")
    config = replace(BaseTrainConfig.from_yaml(SMOKE_CONFIG), init_from=str(base), grounded_rate=0.5, known_rate=1.0,
                     unet_steps=1, unet_lr=1e-12, unet_warmup=1)
    tuned = train_base(config, tmp_path / "tuned")
    log = [json.loads(line) for line in (tuned / "train_log.jsonl").read_text().splitlines()]
    assert any(r.get("init_from") == str(base) for r in log)
    assert AutoencoderKL.load_config(tuned / "vae")["scaling_factor"] == \
        AutoencoderKL.load_config(base / "vae")["scaling_factor"]
    before = UNet2DConditionModel.from_pretrained(base / "unet").state_dict()
    after = UNet2DConditionModel.from_pretrained(tuned / "unet").state_dict()
    # One step at a vanishing learning rate: the weights are the trained model's, not a fresh init.
    assert all(torch.allclose(before[k].float(), after[k].float(), atol=1e-3) for k in before)
    # Trained with held cells, so generation holds a product's cells clean; the base was not.
    from adgen.tiny import load_tiny_pipeline

    assert load_tiny_pipeline(model_dir=tuned).unet.holds_known_cells_clean
    assert not load_tiny_pipeline(model_dir=base).unet.holds_known_cells_clean


def test_init_from_a_folder_without_a_unet_names_it(tmp_path):
    config = replace(BaseTrainConfig.from_yaml(SMOKE_CONFIG), init_from=str(tmp_path), vae_from=None)
    (tmp_path / "vae").mkdir()
    with pytest.raises(Exception) as error:
        train_base(config, tmp_path / "out")
    assert isinstance(error.value, (InputError, OSError, EnvironmentError))


@pytest.fixture(scope="module")
def smoke_base(tmp_path_factory):
    return train_base(BaseTrainConfig.from_yaml(SMOKE_CONFIG), tmp_path_factory.mktemp("smoke") / "base")


def test_a_9_channel_fine_tune_starts_as_the_4_channel_model_it_widens(smoke_base):
    """The new inputs' weights start at zero: whatever the mask and masked image, the widened UNet
    predicts what the 4-channel one did, so fine-tuning starts from the trained model, not from noise."""
    import torch
    from diffusers import UNet2DConditionModel

    from adgen.training.base import _build_unet, _load_unet

    config = replace(BaseTrainConfig.from_yaml(SMOKE_CONFIG), inpainting=True)
    widened = _load_unet(str(smoke_base), _build_unet(config)).eval()
    plain = UNet2DConditionModel.from_pretrained(smoke_base / "unet", dtype=torch.float32).eval()
    assert (widened.config.in_channels, plain.config.in_channels) == (9, 4)
    gen = torch.Generator().manual_seed(0)
    noisy, given = torch.randn(2, 4, 8, 8, generator=gen), torch.randn(2, 5, 8, 8, generator=gen)
    context = torch.randn(2, 6, 384, generator=gen)
    with torch.no_grad():
        torch.testing.assert_close(widened(torch.cat([noisy, given], 1), 500, context).sample,
                                   plain(noisy, 500, context).sample, atol=2e-3, rtol=1e-3)


def test_the_object_is_given_as_the_inpainting_pipeline_gives_a_placed_product(smoke_base, tmp_path):
    """Training shows the object through the same inputs, made the same way, as
    StableDiffusionInpaintPipeline makes them from plate_guide's silhouette at generation time."""
    import torch
    from diffusers import StableDiffusionInpaintPipeline
    from PIL import Image

    from adgen.plate_guide import full_plate_guide, render_guided, render_plain
    from adgen.tiny import load_tiny_pipeline
    from adgen.training.base import _blank_latents, _given_inputs
    from adgen.training.grounded_scenes import object_coverage

    config = replace(BaseTrainConfig.from_yaml(SMOKE_CONFIG), init_from=str(smoke_base), inpainting=True,
                     grounded_rate=0.5, known_rate=1.0, unet_steps=2, aspect_crop_rate=1.0)
    tuned = train_base(config, tmp_path / "inpaint")
    assert json.loads((tuned / "model_index.json").read_text())["_class_name"] == "StableDiffusionInpaintPipeline"
    pipe = load_tiny_pipeline(model_dir=tuned)
    assert isinstance(pipe, StableDiffusionInpaintPipeline) and pipe.unet.config.in_channels == 9

    scene = sample_grounded(11)
    image = render_grounded(scene, 64)
    silhouette = object_coverage(scene, 64) >= 0.5
    pixels = (np.asarray(image, np.float32) / 127.5 - 1).transpose(2, 0, 1)[None]
    given = _given_inputs(pipe.vae, pixels, silhouette[None])
    mask_image = Image.fromarray(np.where(silhouette, 0, 255).astype(np.uint8), "L")
    guide = replace(full_plate_guide((64, 64)), init=image, mask=mask_image)
    seen = []
    hook = pipe.unet.register_forward_pre_hook(lambda _, args: seen.append(args[0][:1, 4:].clone()))
    try:
        plate = render_guided(pipe, [guide], prompts=["red backdrop"], negatives=[None], size=(64, 64), seeds=[0],
                              steps=2, guidance=5.0)[0]
    finally:
        hook.remove()
    assert plate.size == (64, 64) and len(seen) == 2
    # What the UNet saw at every step is what training gives it for the same object.
    for extra in seen:
        torch.testing.assert_close(extra[:, :1], given["mask"])
        torch.testing.assert_close(extra[:, 1:], given["masked_latents"], atol=1e-4, rtol=1e-4)
    assert 0 < float((1 - given["mask"]).mean()) < 1            # the object is kept, the rest generated
    blank = _blank_latents(pipe.vae, given, (8, 8))
    assert not torch.allclose(given["masked_latents"], blank.expand_as(given["masked_latents"]))
    # Without a product it is given nothing, as training gives a plain backdrop.
    seen.clear()
    hook = pipe.unet.register_forward_pre_hook(lambda _, args: seen.append(args[0][:1, 4:].clone()))
    try:
        assert render_plain(pipe, ["red backdrop"], seeds=[0], steps=2, guidance=5.0)[0].size == (64, 64)
    finally:
        hook.remove()
    torch.testing.assert_close(seen[0][:, :1], torch.ones_like(given["mask"]))
    # A blank image's latents are numerically touchy (GroupNorm over a constant frame): equal to 3 %.
    assert float((seen[0][:, 1:] - blank).abs().mean()) < 0.03 * float(blank.abs().mean())


def test_aspect_windows_are_non_square_and_inside_the_latents():
    """The formats' plates run 96x168 to 184x88: training windows keep one side whole and cut the other to
    10-14 of 16 cells, wide and tall both, always inside the latents."""
    from adgen.training.base import _aspect_window

    rng = np.random.default_rng(0)
    shapes = set()
    for _ in range(200):
        window = _aspect_window(rng, (16, 16))
        rows, cols = window[2].indices(16), window[3].indices(16)
        height, width = rows[1] - rows[0], cols[1] - cols[0]
        assert 0 <= rows[0] < rows[1] <= 16 and 0 <= cols[0] < cols[1] <= 16
        assert 16 in (height, width) and 10 <= min(height, width) <= 14
        shapes.add("wide" if width > height else "tall")
    assert shapes == {"wide", "tall"}


def test_shipped_configs_chain_base_inpaint_aspect():
    """The shipped weights' recipe: train.yaml, then train-inpaint.yaml, then train-inpaint-aspect.yaml."""
    tiny = Path(__file__).resolve().parents[1] / "adgen" / "tiny"
    inpaint = BaseTrainConfig.from_yaml(tiny / "train-inpaint.yaml")
    aspect = BaseTrainConfig.from_yaml(tiny / "train-inpaint-aspect.yaml")
    assert inpaint.inpainting and aspect.inpainting and aspect.aspect_crop_rate > 0 and inpaint.known_rate > 0
    shipped = json.loads((tiny / "adgen-tiny" / "adgen_train_config.json").read_text())
    assert shipped["inpainting"] and shipped["unet_steps"] == aspect.unet_steps
    assert shipped["aspect_crop_rate"] == aspect.aspect_crop_rate
