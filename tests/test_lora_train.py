"""LoRA training on the brand's own pictures: SD 1.5 and SDXL bases, buckets and captions,
resume after kill -9, every linter finding, and the adapter applied only to its base.

Tiny real pipelines from tests/conftest.py (64 px native), photo-like sets from
adgen.training.style_photos at mixed sizes.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from adgen.adapters import AdapterRef, activate_adapter, adapter_info
from adgen.errors import InputError, ModelError
from adgen.training.lora import LoraTrainConfig, train_lora
from adgen.training.lora_lint import lint_images
from adgen.training.style_photos import render_photo_set

PALETTE = {"navy": "#1B2A41", "amber": "#F2A541", "cream": "#F7F3E9"}
SIZES = ((96, 64), (64, 96), (80, 80), (112, 64), (64, 80), (72, 72))
FAST = LoraTrainConfig(rank=4, alpha=4.0, steps=4, batch=2, lr=5e-3, min_images=4, threads=1, ocr=False,
                       product_check=False, checkpoint_every=0)


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """Six photo-like still lifes at six sizes and aspects; three with a .txt caption."""
    folder = tmp_path_factory.mktemp("photos")
    render_photo_set(PALETTE, folder, trigger="acme style", count=6, seed=3, sizes=SIZES)
    return folder


def _load(folder: Path):
    from diffusers import DiffusionPipeline

    pipe = DiffusionPipeline.from_pretrained(folder)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _render(pipe):
    import torch

    with torch.inference_mode():
        return pipe("studio backdrop", num_inference_steps=2, guidance_scale=1.0, output_type="np",
                    generator=torch.Generator("cpu").manual_seed(0)).images[0]


def _weights(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(next(folder.glob("*.safetensors"))))


def test_sd15_trains_on_mixed_size_photos_with_and_without_captions(sd15_dir, photos, tmp_path):
    from adgen.generation import model_fingerprint

    pipe = _load(sd15_dir)
    folder = train_lora(pipe, photos, tmp_path / "acme", name="acme", trigger="acme style",
                        style_words=("navy blue",), config=FAST, progress=False)
    assert sorted(p.name for p in folder.iterdir()) == ["acme.safetensors", "adapter.json", "lint-report.json",
                                                        "lint-report.txt"]
    info = adapter_info(folder)
    assert info["base_model_sha256"] == model_fingerprint(str(sd15_dir)) and info["base_family"] == "sd15"
    assert info["resolution"] == 64 and len(info["buckets"]) >= 3  # portrait, square and landscape buckets
    sources = {d["file"]: d for d in info["data"]}
    assert {d["caption_source"] for d in sources.values()} == {"file", "built"} and len(sources) == 6
    built = next(d for d in sources.values() if d["caption_source"] == "built")
    # trigger, style words, then the file name's words ("wood-table-cup-01.jpg" -> "wood table cup")
    assert built["caption"].startswith("acme style, navy blue, ") and "table" in built["caption"]
    captioned = next(name for name, d in sources.items() if d["caption_source"] == "file")
    assert sources[captioned]["caption"] == (photos / captioned).with_suffix(".txt").read_text().strip()
    base = _render(pipe)
    activate_adapter(pipe, AdapterRef("acme", folder, weight=1.0))
    assert np.abs(_render(pipe) - base).mean() > 1e-4
    activate_adapter(pipe, None)
    # A resident pipeline that holds the brand's current adapter trains its next one.
    again = train_lora(pipe, photos, tmp_path / "acme-2", name="acme", trigger="acme style", config=FAST,
                       progress=False)
    assert (again / "acme.safetensors").is_file() and set(pipe.get_list_adapters()["unet"]) == {"acme"}


def test_a_9_channel_inpainting_base_trains_as_it_makes_a_plate_without_a_product(photos, tmp_path):
    """An inpainting checkpoint (adgen-tiny is one) is trained with its extra inputs as plates without a
    product get them: mask all 1 and the blank image's latents, so the adapter learns the mode it is used in."""
    import torch
    from tiny_pipelines import build_sd15, save

    from adgen.plate_guide import render_plain

    pipe = _load(save(build_sd15(seed=0, in_channels=9), tmp_path / "inpaint"))
    seen = []
    hook = pipe.unet.register_forward_pre_hook(lambda _, args: seen.append(args[0].detach().clone()))
    try:
        folder = train_lora(pipe, photos, tmp_path / "acme", name="acme", trigger="acme style", config=FAST,
                            progress=False)
    finally:
        hook.remove()
    assert len(seen) == FAST.steps and all(x.shape[1] == 9 for x in seen)
    mask, given = seen[0][:, 4:5], seen[0][:, 5:]
    assert torch.equal(mask, torch.ones_like(mask))
    factor = pipe.vae_scale_factor
    with torch.no_grad():
        blank = pipe.vae.encode(torch.zeros(1, 3, factor * given.shape[2], factor * given.shape[3])).latent_dist.mean
    blank = blank * pipe.vae.config.scaling_factor   # equal to 3 %: a constant frame is numerically touchy
    assert float((given[:1] - blank).abs().mean()) < 0.03 * float(blank.abs().mean()) + 1e-4
    base = np.asarray(render_plain(pipe, ["studio backdrop"], seeds=[0], steps=2, guidance=1.0)[0], np.float32)
    activate_adapter(pipe, AdapterRef("acme", folder, weight=1.0))
    after = np.asarray(render_plain(pipe, ["studio backdrop"], seeds=[0], steps=2, guidance=1.0)[0], np.float32)
    assert np.abs(after - base).mean() > 1e-3
    activate_adapter(pipe, None)


def test_sdxl_trains_and_its_adapter_applies_only_to_its_base(sdxl_dir, sd15_dir, photos, tmp_path):
    from tiny_pipelines import build_sdxl, save

    from adgen.request import adapter_fits

    pipe = _load(sdxl_dir)
    # With gradient checkpointing: the LoRA still gets gradients (the plate changes below).
    folder = train_lora(pipe, photos, tmp_path / "acme", name="acme", trigger="acme style",
                        config=replace(FAST, gradient_checkpointing=True), progress=False)
    info = adapter_info(folder)
    assert info["base_family"] == "sdxl" and np.isfinite(info["final_loss"])
    assert not pipe.unet.is_gradient_checkpointing
    base = _render(pipe)
    activate_adapter(pipe, AdapterRef("acme", folder, weight=1.0))
    assert np.abs(_render(pipe) - base).mean() > 1e-4
    activate_adapter(pipe, None)
    weights = next(folder.glob("*.safetensors"))
    other_sdxl = save(build_sdxl(seed=1), tmp_path / "other-sdxl")  # same shapes, other weights
    assert adapter_fits(weights, str(sdxl_dir))
    assert not adapter_fits(weights, str(other_sdxl)) and not adapter_fits(weights, str(sd15_dir))
    with pytest.raises(ModelError, match="cannot load LoRA adapter"):
        activate_adapter(_load(sd15_dir), AdapterRef("acme", folder))


def test_text_encoders_train_only_when_asked(sdxl_dir, photos, tmp_path):
    """Frozen by default (UNet keys only); train_text_encoder=True adds both SDXL encoders' LoRA."""
    pipe = _load(sdxl_dir)
    frozen = train_lora(pipe, photos, tmp_path / "frozen", name="acme", trigger="acme style", config=FAST,
                        progress=False)
    assert {k.split(".")[0] for k in _weights(frozen)} == {"unet"}
    both = train_lora(pipe, photos, tmp_path / "both", name="acme", trigger="acme style",
                      config=replace(FAST, train_text_encoder=True), progress=False)
    weights = _weights(both)
    assert {k.split(".")[0] for k in weights} == {"unet", "text_encoder", "text_encoder_2"}
    # The encoders' LoRA learned: its up/B matrices start at zero and are not zero now.
    for encoder in ("text_encoder.", "text_encoder_2."):
        ups = [v for k, v in weights.items() if k.startswith(encoder) and ("lora_B" in k or ".up." in k)]
        assert ups and any(float(v.abs().sum()) > 0 for v in ups), encoder
    assert not any(p.requires_grad for p in pipe.text_encoder.parameters())  # adapters gone, encoders frozen
    base = _render(pipe)
    activate_adapter(pipe, AdapterRef("both", both, weight=1.0))
    assert np.abs(_render(pipe) - base).mean() > 1e-4
    activate_adapter(pipe, None)
    np.testing.assert_allclose(_render(pipe), base, atol=1e-6)


_CHILD = """
import json, sys, time
from pathlib import Path
from diffusers import DiffusionPipeline
from adgen.training.lora import LoraTrainConfig, train_lora
args = json.loads(sys.argv[1])
config = LoraTrainConfig(**{**args["config"], "target_modules": tuple(args["config"]["target_modules"])})
def on_step(step, steps, loss):
    print(f"step {step}", flush=True)
    if step == args["stop_at"]:
        time.sleep(600)  # the parent kills -9 here: one step past the last checkpoint
train_lora(DiffusionPipeline.from_pretrained(args["model"]), Path(args["images"]), Path(args["out"]),
           name="acme", trigger="acme style", config=config, on_step=on_step, progress=False)
"""


def test_resume_after_kill_9_equals_an_uninterrupted_run(sd15_dir, photos, tmp_path):
    config = replace(FAST, steps=6, checkpoint_every=2)
    whole = train_lora(_load(sd15_dir), photos, tmp_path / "whole", name="acme", trigger="acme style",
                       config=config, progress=False)
    killed = tmp_path / "killed"
    args = {"config": asdict(config), "model": str(sd15_dir), "images": str(photos), "out": str(killed),
            "stop_at": 5}
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[1]), os.environ.get("PYTHONPATH", "")])}
    log = tmp_path / "child.log"
    with open(log, "w") as errors:
        child = subprocess.Popen([sys.executable, "-c", _CHILD, json.dumps(args)], stdout=subprocess.PIPE,
                                 stderr=errors, text=True, env=env)
        try:
            reached = any(line.strip() == "step 5" for line in child.stdout)  # stops reading at step 5
            if reached:
                os.kill(child.pid, signal.SIGKILL)
        finally:
            child.kill()
            child.wait(timeout=60)
    assert reached and child.returncode == -signal.SIGKILL, log.read_text()[-3000:]
    assert (killed / "checkpoints" / "latest.pt").is_file() and not list(killed.glob("*.safetensors"))
    with pytest.raises(InputError, match="other settings"):
        train_lora(_load(sd15_dir), photos, killed, name="acme", trigger="acme style",
                   config=replace(config, lr=1e-3), resume=True, progress=False)
    resumed = train_lora(_load(sd15_dir), photos, killed, name="acme", trigger="acme style", config=config,
                         resume=True, progress=False)
    assert adapter_info(resumed)["resumed"] and not (killed / "checkpoints").exists()
    a, b = _weights(whole), _weights(resumed)
    assert sorted(a) == sorted(b)
    for key in a:
        np.testing.assert_allclose(b[key].numpy(), a[key].numpy(), atol=1e-6, rtol=0, err_msg=key)


def _text_image(text: str, size=(112, 80), font_px=18, lines=1):
    from PIL import ImageFont

    from adgen.fonts import font_files

    font = ImageFont.truetype(str(next(iter(font_files().values()))), font_px)
    image = Image.new("RGB", size, (214, 200, 176))
    draw = ImageDraw.Draw(image)
    for i in range(lines):
        draw.text((6, 6 + i * int(font_px * 1.4)), text, fill=(20, 24, 40), font=font)
    return image


def test_the_linter_names_every_finding(photos, tmp_path):
    import cv2

    folder = tmp_path / "mixed"
    shutil.copytree(photos, folder)
    first = sorted(folder.glob("*.jpg"))[0]
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really a png")
    Image.new("RGB", (24, 30), (120, 90, 60)).save(folder / "thumb.png")
    # Other scenes than the set's own, or they would be (rightly) near-duplicates of it.
    extra = render_photo_set(PALETTE, tmp_path / "extra", trigger="x", count=3, seed=9,
                             sizes=((48, 40), (80, 64), (64, 80)))
    Image.open(extra[0]).save(folder / "small.png")
    Image.open(extra[1]).convert("CMYK").save(folder / "cmyk.jpg")
    deep = np.asarray(Image.open(extra[2]).convert("RGB"), np.uint16) * 257
    cv2.imwrite(str(folder / "deep.png"), deep[:, :, ::-1].copy())
    Image.open(first).save(folder / "zz-copy.png")
    _text_image("SALE 50% OFF", size=(160, 96)).save(folder / "sale.png")
    _text_image("NEW", size=(96, 72), font_px=26, lines=2).save(folder / "poster.png")
    product = Image.new("RGB", (96, 96), (250, 250, 250))
    ImageDraw.Draw(product).rounded_rectangle((20, 8, 76, 90), radius=10, fill=(90, 40, 20))
    product.save(folder / "product.png")

    report = lint_images(folder, resolution=64, trigger="acme style", min_images=1)
    found = {e.file: e for e in report.entries}
    assert found["broken.png"].findings == ("unreadable",) and not found["broken.png"].used
    assert found["thumb.png"].findings == ("too-small",) and "24x30" in found["thumb.png"].notes[0]
    assert found["small.png"].used and found["small.png"].findings == ("upscaled",)
    assert found["cmyk.jpg"].used and "CMYK converted" in found["cmyk.jpg"].notes[0]
    assert found["deep.png"].used and "16-bit" in found["deep.png"].notes[0]
    assert not found["zz-copy.png"].used and found["zz-copy.png"].findings == ("near-duplicate",)
    assert first.name in found["zz-copy.png"].notes[0]
    assert found["sale.png"].used and found["sale.png"].findings == ("text",) and found["sale.png"].text_boxes
    assert not found["poster.png"].used and found["poster.png"].findings == ("mostly-text",)
    assert found["product.png"].used and found["product.png"].findings == ("product",)
    # The style photos themselves pass clean.
    assert all(found[p.name].findings == () for p in photos.glob("*.jpg"))
    report.write(tmp_path / "report")
    written = json.loads((tmp_path / "report" / "lint-report.json").read_text())
    assert written["counts"]["used"] == len(report.used) == 6 + 5
    assert "near-duplicate of" in (tmp_path / "report" / "lint-report.txt").read_text()

    strict = tmp_path / "strict"
    strict.mkdir()
    shutil.copy(folder / "sale.png", strict / "sale.png")
    shutil.copy(first, strict / first.name)
    with pytest.raises(InputError, match=r"text or logos found by OCR in 1 image\(s\): sale\.png"):
        lint_images(strict, resolution=64, trigger="acme style", min_images=1, strict=True, products=False)
    with pytest.raises(InputError, match=r"too few usable images: 2 of 2, need at least 12"):
        lint_images(strict, resolution=64, trigger="acme style", ocr=False, products=False)


def test_text_is_masked_out_of_the_loss_in_latent_space(sd15_dir, tmp_path):
    from adgen.training.lora_data import Bucket, Example
    from adgen.training.lora_encode import encode_examples

    path = tmp_path / "sale.png"
    _text_image("SALE", size=(80, 80)).save(path)  # fills the 64x64 bucket at scale 0.8: box -> (0, 0, 32, 16) px
    example = Example(path, "acme style", Bucket(64, 64), text_boxes=((0, 0, 40, 20),))
    encoded = encode_examples(_load(sd15_dir), [example], mirror=True, sdxl=False)
    keep, mirrored = encoded.keeps[0][0, 0].numpy(), encoded.keeps[1][0, 0].numpy()
    assert keep.shape == (32, 32)  # latent cells (VAE factor 2)
    assert keep[:8, :16].sum() == 0 and keep[9:, :].all() and keep[:, 17:].all()
    np.testing.assert_array_equal(mirrored, keep[:, ::-1])


def test_sdxl_conditioning_carries_each_images_size_and_crop(sdxl_dir, tmp_path):
    """add_time_ids = original (h, w), crop top-left (y, x) in the scaled image, bucket (h, w)."""
    from adgen.training.lora_data import Bucket, Example
    from adgen.training.lora_encode import encode_examples

    Image.new("RGB", (100, 60), (200, 120, 40)).save(tmp_path / "wide.png")  # 5:3 into a 64x48 bucket
    example = Example(tmp_path / "wide.png", "acme style", Bucket(64, 48))
    encoded = encode_examples(_load(sdxl_dir), [example], mirror=False, sdxl=True)
    # scaled to cover: 100x60 * 0.8 = 80x48, centre crop of 64 px width starts at x = 8
    assert encoded.time_ids[0].tolist() == [60, 100, 0, 8, 48, 64]
    conditioning = encoded.conditioning([0], "cpu", encoded.embeds.dtype)
    assert conditioning["added_cond_kwargs"]["time_ids"].shape == (1, 6)
    assert conditioning["encoder_hidden_states"].shape[-1] == 64  # both encoders' 32 dims, concatenated
    assert encoded.means[0].shape == (1, 4, 24, 32)


def test_lora_train_cli_on_an_images_folder(sd15_dir, tmp_path):
    from typer.testing import CliRunner

    from adgen.cli import app

    images = tmp_path / "pictures"
    render_photo_set(PALETTE, images, trigger="northwind style", count=5, seed=5, sizes=SIZES)
    out = tmp_path / "lora"
    result = CliRunner().invoke(app, ["lora", "train", "--brand", "northwind", "--images", str(images),
                                      "--base", str(sd15_dir), "--steps", "2", "--rank", "2", "--min-images", "4",
                                      "--out", str(out)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "LoRA images in" in result.output and "used: 5" in result.output
    info = json.loads((out / "northwind" / "adapter.json").read_text())
    assert info["trigger"] == "northwind style" and info["steps"] == 2 and len(info["data"]) == 5
    assert info["data"][0]["caption"].startswith("northwind style")


def test_lora_style_set_needs_only_the_brand_and_remakes_the_shipped_set(tmp_path, monkeypatch):
    """The shipped photo sets are this command's output: a copy of the kit without photos/ gets
    the same files (captions byte for byte; pixels within JPEG/SIMD rounding)."""
    from typer.testing import CliRunner

    from adgen.cli import app

    repo = Path(__file__).resolve().parents[1]
    shutil.copytree(repo / "brand_kits" / "sakura", tmp_path / "kits" / "sakura", ignore=shutil.ignore_patterns("photos"))
    monkeypatch.setenv("ADGEN_BRAND_KITS", str(tmp_path / "kits"))
    result = CliRunner().invoke(app, ["lora", "style-set", "--brand", "sakura"])
    assert result.exit_code == 0, result.output
    made, shipped = tmp_path / "kits" / "sakura" / "photos", repo / "brand_kits" / "sakura" / "photos"
    assert sorted(p.name for p in made.iterdir()) == sorted(p.name for p in shipped.iterdir())
    assert len(list(made.glob("*.jpg"))) == 24 and len(list(made.glob("*.txt"))) == 12
    for path in shipped.glob("*.txt"):
        assert (made / path.name).read_text() == path.read_text()
    for path in shipped.glob("*.jpg"):
        a, b = (np.asarray(Image.open(p), np.float32) for p in (made / path.name, path))
        assert a.shape == b.shape and np.abs(a - b).mean() < 1.0, path.name
    assert len({Image.open(p).size for p in made.glob("*.jpg")}) >= 6  # mixed sizes and aspects


@pytest.mark.slow
def test_train_gpu_script_dry_run(tmp_path):
    """bench/train-gpu.sh --dry-run: the GPU script's own logic on CPU (tiny SDXL-shaped model)."""
    repo = Path(__file__).resolve().parents[1]
    out = tmp_path / "dry.json"
    done = subprocess.run(["bash", str(repo / "bench" / "train-gpu.sh"), "--dry-run"], capture_output=True, text=True,
                          env={**os.environ, "PY": sys.executable, "OUT_JSON": str(out)}, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    case = json.loads(out.read_text())["cases"]["sdxl-tiny"]
    assert case["status"].startswith("rc=0"), case
    assert case["steps"] == 4 and case["steps_per_second"] > 0 and case["seconds_per_epoch"] > 0
    assert case["gradient_checkpointing"] and case["lint"]["used"] == 6


class _Stop(Exception):
    pass


def test_a_registry_version_stopped_after_a_checkpoint_is_resumed_into_the_same_version(sd15_dir, photos):
    """`adgen lora train --resume` without --out: the killed run's v<n>/ keeps its checkpoint, is not
    listed, and the resumed run finishes that same version (no v<n+1>/)."""
    from adgen.brand import load_brand
    from adgen.lora_registry import versions
    from adgen.training.adapter_versions import train_version

    kit = load_brand("northwind")
    config = replace(FAST, steps=6, checkpoint_every=2)

    def stop_at_5(step, steps, loss):
        if step == 5:
            raise _Stop

    with pytest.raises(_Stop):
        train_version(_load(sd15_dir), kit, photos, config=config, on_step=stop_at_5)
    assert versions("northwind") == []
    unfinished = [p for p in (Path(os.environ["ADGEN_HOME"]) / "lora" / "northwind").glob("v*")]
    assert [p.name for p in unfinished] == ["v1"] and (unfinished[0] / "checkpoints" / "latest.pt").is_file()
    version = train_version(_load(sd15_dir), kit, photos, config=config, resume=True)
    assert version.version == 1 and adapter_info(version.path)["resumed"]
    assert [v.version for v in versions("northwind")] == [1]
    with pytest.raises(InputError, match="no unfinished training"):
        train_version(_load(sd15_dir), kit, photos, config=config, resume=True)
