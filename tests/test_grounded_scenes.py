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
    from adgen.training.base import LATENT_SCALE, _render_dataset
    from adgen.training.grounded_scenes import object_coverage

    config = replace(BaseTrainConfig.from_yaml(SMOKE_CONFIG), num_images=12, grounded_rate=0.5)
    _, captions, known = _render_dataset(config)
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
