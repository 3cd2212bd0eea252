"""adgen-tiny: the training code runs end to end, and the shipped model loads, makes plates
at its native size and follows the prompt (colour, synonyms, lighting, podium).

Steering is measured over several seeds against the same prompt without the word, with
margins well under the gaps measured when the model was trained (docs/adgen-tiny.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from adgen.plate_guide import render_plain
from adgen.tiny import (TINY_DEFAULT_STEPS, TINY_MODEL_DIR, TINY_RESOLUTION, encode_text, load_tiny_pipeline)
from adgen.training.base import BaseTrainConfig, train_base

SMOKE_CONFIG = Path(__file__).resolve().parents[1] / "adgen" / "tiny" / "train-smoke.yaml"
SEEDS = (0, 1, 2, 3)


@pytest.fixture(scope="module")
def tiny():
    import torch

    torch.set_num_threads(1)
    return load_tiny_pipeline()


def _plates(pipe, prompt: str, seeds=SEEDS) -> np.ndarray:
    """(n, H, W, 3) float 0-255 plates, one generator per seed, no product placed."""
    images = render_plain(pipe, [prompt] * len(seeds), seeds=list(seeds), steps=TINY_DEFAULT_STEPS, guidance=5.0)
    return np.stack([np.asarray(image, np.float32) for image in images])


def _redness(plates: np.ndarray) -> float:
    """Mean red minus blue channel, 0-255 units."""
    return float((plates[..., 0] - plates[..., 2]).mean())


def test_smoke_training_end_to_end(tmp_path):
    import torch

    out = train_base(BaseTrainConfig.from_yaml(SMOKE_CONFIG), tmp_path / "model")
    index = json.loads((out / "model_index.json").read_text())
    assert index["unet"] == ["diffusers", "UNet2DConditionModel"]
    assert not (out / "text_encoder").exists()  # MiniLM comes from its own package
    log = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    assert [r["stage"] for r in log][-1] == "done"
    assert all(np.isfinite(r["loss"]) for r in log if "loss" in r)

    pipe = load_tiny_pipeline(model_dir=out)
    image = pipe("red backdrop", num_inference_steps=2, generator=torch.Generator().manual_seed(0)).images[0]
    assert image.size == (64, 64)


def test_import_does_not_load_torch():
    code = "import sys, adgen.tiny; assert 'torch' not in sys.modules and 'diffusers' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[1])


def test_shipped_folder_is_small_and_has_no_text_encoder():
    weights = list(TINY_MODEL_DIR.rglob("*.safetensors"))
    assert {p.parent.name for p in weights} == {"unet", "vae"}
    assert all(p.stat().st_size < 20 * 2**20 for p in weights)
    assert not (TINY_MODEL_DIR / "text_encoder").exists()


def test_pipeline_embeds_prompts_as_training_did(tiny):
    import torch

    ours = encode_text(tiny.tokenizer, tiny.text_encoder, ["a soft blue studio sweep backdrop"])
    theirs, _ = tiny.encode_prompt("a soft blue studio sweep backdrop", "cpu", 1, False)
    torch.testing.assert_close(ours, theirs)


def test_generates_at_native_size(tiny):
    image = render_plain(tiny, ["beige studio backdrop, round podium"], seeds=[0], steps=TINY_DEFAULT_STEPS,
                         guidance=5.0)[0]
    pixels = np.asarray(image, np.float32)
    assert image.size == (TINY_RESOLUTION, TINY_RESOLUTION)
    assert pixels.std() > 2  # not a blank or NaN-black frame


def test_colour_words_steer_hue(tiny):
    # Measured at ship time (seeds 0-3, the 9-channel model given nothing): red 145.3, blue -120.4 (gap 266).
    red, blue = _plates(tiny, "red backdrop"), _plates(tiny, "blue backdrop")
    assert _redness(red) - _redness(blue) > 120


def test_every_caption_colour_lands_nearest_its_own_swatch(tiny):
    """Each of the 12 caption colours: the plate's median colour is nearest (CIEDE2000) to
    that word's swatch among all 12. Measured at ship time: 45 of 48 (the 4-channel base 47);
    the model before the retrain managed 6 of 48, about chance."""
    from adgen.backdrops import COLOURS
    from adgen.compliance.palette_rules import delta_e00

    names = list(COLOURS)
    swatches = [COLOURS[n] for n in names]
    hits = 0
    for name in names:
        for plate in _plates(tiny, f"{name} backdrop"):
            median = tuple(np.median(plate.reshape(-1, 3), 0))
            hits += names[int(np.argmin(delta_e00([median] * len(names), swatches)))] == name
    assert hits >= 40, f"{hits} of 48 plates nearest their own colour"


def test_green_steers_towards_green(tiny):
    green, gray = _plates(tiny, "green backdrop"), _plates(tiny, "gray backdrop")
    greenness = lambda p: float((p[..., 1] - (p[..., 0] + p[..., 2]) / 2).mean())  # noqa: E731
    assert greenness(green) - greenness(gray) > 40  # measured at ship time: 68.4 vs 1.1


@pytest.mark.parametrize("warm,cool,margin", [("crimson backdrop", "azure backdrop", 30),
                                              ("scarlet backdrop", "navy backdrop", 20)])
def test_unseen_synonyms_steer_too(tiny, warm, cool, margin):
    """Never in a training caption: MiniLM places them near red and blue. Measured at ship
    time: crimson - azure 87.8, scarlet - navy 44.6."""
    assert _redness(_plates(tiny, warm)) - _redness(_plates(tiny, cool)) > margin


def test_lighting_words_move_brightness(tiny):
    bright = _plates(tiny, "bright gray studio backdrop").mean()
    dark = _plates(tiny, "dark moody gray studio backdrop").mean()
    assert bright - dark > 40  # measured at ship time: 153.9 vs 52.7


def test_podium_adds_structure_in_the_lower_centre(tiny):
    def lower_centre_edges(plates):
        region = plates[:, 72:124, 32:96].mean(-1)
        return float(np.abs(np.diff(region, axis=2)).mean() + np.abs(np.diff(region, axis=1)).mean())

    with_podium = lower_centre_edges(_plates(tiny, "beige studio sweep backdrop, round podium"))
    without = lower_centre_edges(_plates(tiny, "beige studio sweep backdrop"))
    assert with_podium > 2 * without  # measured at ship time: 3.74 vs 1.29


def test_plate_command_writes_the_prompted_backdrop(tmp_path):
    """`adgen plate` on the default model: the file exists, keeps the asked aspect, and the prompt's colour
    reaches it: "red backdrop" comes out far redder than "blue backdrop" on the same seed (R - B measured
    5.9 against -136.3 on the shipped model: its red runs to magenta on this wide seed, docs/adgen-tiny.md)."""
    from PIL import Image

    redness = {}
    for colour in ("red", "blue"):
        out = tmp_path / f"{colour}.png"
        done = subprocess.run([sys.executable, "-m", "adgen", "plate", "--prompt", f"{colour} backdrop", "--size",
                               "1200x600", "--seed", "1", "--out", str(out)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-2000:]
        pixels = np.asarray(Image.open(out).convert("RGB"), np.float32)
        assert abs(pixels.shape[1] / pixels.shape[0] - 2.0) < 0.1
        redness[colour] = _redness(pixels[None])
    assert redness["red"] - redness["blue"] > 80


def test_palette_distance_is_zero_on_the_palette_and_large_off_it():
    from PIL import Image

    from adgen.training.lora_eval import palette_distance

    palette = {"primary": "#1f3a5f", "accent": "#f2a93b"}
    assert palette_distance(Image.new("RGB", (64, 64), "#1f3a5f"), palette) < 0.5
    assert palette_distance(Image.new("RGB", (64, 64), "#20c040"), palette) > 20


def test_lora_eval_command_shows_the_shipped_adapter_pulls_plates_to_its_palette():
    """`adgen lora eval` end to end: 6 held-out prompts x 3 seeds without and with northwind's
    adapter on adgen-tiny; mean CIEDE2000 to the palette measured 27.80 -> 20.63 at ship time."""
    import re

    done = subprocess.run([sys.executable, "-m", "adgen", "lora", "eval", "--brand", "northwind"],
                          capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"})
    assert done.returncode == 0, done.stderr[-2000:]
    summary = re.search(r"mean ΔE00 ([\d.]+) → ([\d.]+) \(improvement ([+-][\d.]+)\); plates text-free: (\w+)",
                        done.stdout)
    assert summary, done.stdout[-2000:]
    without, with_adapter, improvement = (float(v) for v in summary.groups()[:3])
    assert improvement > 4 and with_adapter < without
    assert summary.group(4) == "True"
    assert done.stdout.count("studio backdrop with a round podium") == 3  # one row per seed
