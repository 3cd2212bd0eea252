"""Generate stage on tiny real SD 1.5- and SDXL-shaped pipelines loaded from local folders."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from adgen.errors import ModelError
from adgen.generation import generate, load_pipeline, model_fingerprint, plate_size
from adgen.geometry import Size
from adgen.prompt import build_prompt
from adgen.request import AssetRequest, derive_seed, resolve


def make(cold_brew, model, fmt="ig-square", seed=0, variant=1):
    resolved = resolve(AssetRequest(product=cold_brew, brand="northwind", format=fmt, seed=seed, variant=variant,
                                    model=str(model), steps=2))
    return build_prompt(resolved), resolved


@pytest.mark.parametrize("family", ["sd15_dir", "sdxl_dir"])
def test_local_folder_generates_seeded_reproducible_plates(request, cold_brew, family):
    folder = request.getfixturevalue(family)
    prompt, resolved = make(cold_brew, folder)
    first = np.asarray(generate(prompt, resolved))
    again = np.asarray(generate(prompt, resolved))
    assert first.shape == (64, 64, 3)
    assert np.array_equal(first, again)
    other = np.asarray(generate(*make(cold_brew, folder, seed=1)))
    assert np.abs(first.astype(int) - other).mean() > 1.0


def test_sdxl_folder_loads_the_sdxl_pipeline_class(sdxl_dir):
    assert type(load_pipeline(str(sdxl_dir))).__name__ == "StableDiffusionXLPipeline"


def test_pipeline_is_cached_per_model_in_process(sd15_dir):
    assert load_pipeline(str(sd15_dir)) is load_pipeline(str(sd15_dir))


def test_landscape_plate_keeps_the_format_aspect(cold_brew, sd15_dir):
    prompt, resolved = make(cold_brew, sd15_dir, fmt="fb-link")
    plate = generate(prompt, resolved)
    assert plate.width > plate.height


def test_plate_size_buckets():
    assert plate_size(64, Size(1080, 1080)) == (64, 64)
    width, height = plate_size(1024, Size(1200, 628), 8)
    assert width % 8 == 0 and height % 8 == 0 and 1.3 < width / height < 2.0
    assert plate_size(512, Size(728, 90))[0] / plate_size(512, Size(728, 90))[1] == pytest.approx(2.0, rel=0.05)


def test_marketplace_plate_is_pure_white_without_a_model(cold_brew):
    prompt, resolved = make(cold_brew, "does-not-matter", fmt="amazon-main")
    assert np.asarray(generate(prompt, resolved)).min() == 255


def test_seed_depends_on_sku_format_and_variant_only():
    base = derive_seed(7, "SKU1", "ig-square", 1)
    assert base == derive_seed(7, "SKU1", "ig-square", 1)
    assert len({base, derive_seed(7, "SKU2", "ig-square", 1), derive_seed(7, "SKU1", "story", 1),
                derive_seed(7, "SKU1", "ig-square", 2), derive_seed(8, "SKU1", "ig-square", 1)}) == 5


@pytest.mark.parametrize("model, needle", [
    ("/nonexistent/model", "model not found"),
    ("someorg/missing-model", "HF cache"),
])
def test_missing_model_is_a_clear_error(cold_brew, model, needle):
    with pytest.raises(ModelError) as info:
        load_pipeline(model)
    assert needle in str(info.value) and model in str(info.value)


def test_folder_without_model_index_is_rejected(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="model_index.json"):
        load_pipeline(str(tmp_path / "empty"))


def test_hub_id_loads_from_the_local_cache_offline(tmp_path, monkeypatch, sd15_dir):
    """A hub id resolves from an HF cache laid out as huggingface_hub writes it, never the network."""
    cache = tmp_path / "hub"
    snapshot = cache / "models--acme--tiny-sd" / "snapshots" / "0123456789abcdef"
    shutil.copytree(sd15_dir, snapshot)
    (cache / "models--acme--tiny-sd" / "refs").mkdir()
    (cache / "models--acme--tiny-sd" / "refs" / "main").write_text("0123456789abcdef")
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(cache))
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    pipe = load_pipeline("acme/tiny-sd")
    assert type(pipe).__name__ == "StableDiffusionPipeline"
    assert model_fingerprint("acme/tiny-sd") == model_fingerprint(str(snapshot))


def test_fingerprint_changes_with_weights(tmp_path, sd15_dir):
    copy = shutil.copytree(sd15_dir, tmp_path / "copy")
    before = model_fingerprint(str(copy))
    weights = next(copy.glob("unet/*.safetensors"))
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1
    weights.write_bytes(bytes(data))
    assert model_fingerprint(str(copy)) != before


@pytest.mark.parametrize("model", ["adgen-tiny", "sd15_dir"])
def test_loading_a_pipeline_warns_of_no_deprecated_argument(request, model):
    """A normal run prints no library deprecation notices (diffusers 0.40 renamed torch_dtype to dtype)."""
    import warnings

    import diffusers  # noqa: F401  (import-time notices are the libraries' own, not our call sites')
    import transformers  # noqa: F401

    from adgen import generation

    model = str(request.getfixturevalue(model)) if model.endswith("_dir") else model
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        generation._load_pipeline_cached.__wrapped__(model, "cpu", "float32")  # the real path, uncached
    notices = [f"{w.category.__name__}: {w.message}" for w in caught
               if issubclass(w.category, (DeprecationWarning, FutureWarning))]
    assert notices == []
