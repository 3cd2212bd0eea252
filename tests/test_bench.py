"""Smoke tests for the benchmark harness: configs build the published models, the harness runs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.models import MODELS, build_pipeline, model_spec, parameter_count, scaled  # noqa: E402


@pytest.mark.parametrize("name, unet_params", [("sd15", 859_520_964), ("sdxl", 2_567_463_684),
                                               ("sd-turbo", 865_910_724)])
def test_configs_build_the_published_unets_on_meta(torch_warm, name, unet_params):
    counts = parameter_count(build_pipeline(model_spec(name, "full"), device="meta"))
    assert counts["unet"] == unet_params
    assert counts["vae"] == 83_653_863


@pytest.mark.parametrize("name", MODELS)
def test_scaled_configs_keep_widths_consistent(name):
    config = scaled(model_spec(name).config, 8)
    hidden = sum(encoder["hidden_size"] for encoder in config["text_encoders"])
    assert config["unet"]["cross_attention_dim"] == hidden
    assert all(c % config["unet"]["norm_num_groups"] == 0 for c in config["unet"]["block_out_channels"])


def test_flops_of_a_real_unet_step_match_the_known_figure(torch_warm):
    from bench.flops import image_flops

    flops = image_flops(model_spec("sd-turbo", "full"))
    # SD 2.x UNet at 64x64 latents: about 0.8 TFLOP per image per step (no CFG at guidance 0).
    assert 0.7e12 < flops.unet_step < 0.9e12 and flops.steps == 1


@pytest.mark.timeout(120)
def test_harness_times_plain_and_adgen_in_one_run(torch_warm, tmp_path, capsys):
    from bench.__main__ import main

    out = tmp_path / "bench.json"
    main(["gen", "--device", "cpu", "--model", "sd15", "--size", "tiny", "--resolution", "64", "--steps", "1",
          "--repeats", "1", "--arms", "plain,adgen", "--json", str(out)])
    document = json.loads(out.read_text())
    arms = document["results"][0]["arms"]
    assert [arm["arm"] for arm in arms] == ["plain", "adgen"]
    assert arms[1]["psnr_db_vs_first"] > 40 and arms[0]["mfu"] > 0
    printed = capsys.readouterr().out
    assert "vs plain" in printed and "s/img" in printed


def test_pipelined_mode_overlaps_generation_with_postprocessing(tmp_path):
    import time
    from concurrent.futures import ThreadPoolExecutor

    from bench.overlap import _pipelined, _sequential

    done = []

    def generate_batch(k):  # sleeps stand in for work that releases the GIL, as torch does
        time.sleep(0.2)
        return 0.2

    def postprocess_batch(k, out):
        time.sleep(0.2)
        done.append(k)

    with ThreadPoolExecutor(max_workers=1) as generation:
        sequential, _ = _sequential(lambda k: generation.submit(generate_batch, k).result(), postprocess_batch,
                                    3, tmp_path)
        pipelined, busy = _pipelined(generation, generate_batch, postprocess_batch, 3, tmp_path)
    assert done == [0, 1, 2, 0, 1, 2] and busy == pytest.approx(0.6)
    assert sequential / pipelined > 1.2


def test_postprocess_profile_times_every_stage_and_both_paths():
    """`python -m bench post` end to end at one repeat: it broke silently once when run()
    moved its check step, so it is exercised here (no timing is asserted)."""
    from bench.postprocess import profile_postprocess

    result = profile_postprocess(repeats=1)
    assert set(result["stages_ms"]) == {"compose", "check", "export"}
    assert result["ocr_ms"]["crop_count"] > 0 and result["ocr_ms"]["crops_batched"] > 0
    assert result["rules_one_pass_ms"] > 0
    nva = result["naive_vs_adgen"]
    assert nva["naive_ms"] > 0 and nva["adgen_ms"] > 0
    assert nva["ocr_ratio"] > 0 and nva["ceiling"] > 0


@pytest.mark.timeout(300)
def test_batch_bench_runs_the_real_engine_and_measures_generation_busy(torch_warm):
    """`python -m bench batch` drives adgen's batch engine (worker processes and all) on the embedded
    model and reports, per mode, the assets made and the share of wall time spent generating."""
    from bench.batch import measure_batch

    result = measure_batch(products=3, formats=("iab-300x250", "fb-link"), steps=2, batch_size=2)
    assert result["assets"] == 6 and result["model"] == "adgen-tiny"
    for figures in result["modes"].values():
        assert figures["made"] == 6
        assert 0 < figures["generation_busy"] < 1
        assert figures["steady_per_min"] > 0 and figures["per_min"] > 0
    assert result["modes"]["sequential"]["x_rate"] == 1.0
    assert set(result["modes"]) == {"sequential", "batched", "pipelined"}
    assert result["overlap_bound"] >= 1.0 and result["overlap_ratio"] > 0


def test_plan_bench_times_both_arms_and_measures_the_copy_space(sd15_dir):
    """`python -m bench plan` at one repeat on a tiny pipeline: both arms timed, detail measured per arm."""
    from bench.plan import measure

    result = measure("ig-square", model=str(sd15_dir), product=str(Path(__file__).resolve().parents[1] / "examples"
                                                                   / "products" / "northwind-cold-brew.yaml"),
                     steps=2, repeats=1)
    assert result["plain_s"] > 0 and result["planned_s"] > 0
    assert result["ratio"] == pytest.approx(result["planned_s"] / result["plain_s"])
    assert set(result["detail"]) == {"plain", "product_only", "planned"}
    assert result["detail"]["plain"] != result["detail"]["planned"]


def test_plate_quality_bench_scores_both_fits_of_every_laid_out_demo_plate(sd15_dir, tmp_path):
    from bench.plate_quality import measure

    rows = measure(model=str(sd15_dir), steps=1, save=tmp_path)
    assert len(rows) == 11                       # the demo's laid-out assets (marketplace plates are plain white)
    assert all(set(row["before"]) == set(row["after"]) == {"grid_db", "banding_per_kpx"} for row in rows)
    assert len(list(tmp_path.glob("*-after.png"))) == 11


def test_copy_space_bench_counts_both_arms_from_real_runs(sd15_dir, tmp_path, monkeypatch):
    import bench.copy_space as copy_space

    monkeypatch.setattr(copy_space, "PRODUCTS", ("northwind-cold-brew",))
    result = copy_space.measure(tmp_path, formats=["ig-square"], seeds=[0], steps=1, model=str(sd15_dir))
    assert set(result) == {"without_plan", "with_plan"}
    assert all(arm["assets"] == 1 and arm["generate_ms_median"] > 0 for arm in result.values())


def test_tiny_grounding_bench_measures_each_model_on_the_same_plates(sd15_dir, tmp_path):
    from bench.tiny_grounding import _save_sheet, measure, measure_scenes

    sheet = {}
    result = measure({"shipped": (str(sd15_dir), True), "candidate": (str(sd15_dir), True),
                      "old prompt": (str(sd15_dir), False)}, seeds=[0], sheet=sheet)
    assert result["shipped"] == result["candidate"] and result["shipped"]["plates"] >= 10
    assert result["old prompt"]["plates"] == result["shipped"]["plates"]
    assert result["old prompt"] != result["shipped"]   # without the surface words: other plates
    assert [len(tiles) for tiles in sheet.values()] == [result["shipped"]["plates"]] * 3
    _save_sheet(sheet, tmp_path / "sheet.png")
    assert (tmp_path / "sheet.png").stat().st_size > 10_000
    scenes = measure_scenes(str(sd15_dir), count=2, size=64)
    assert scenes["plates"] == 2 and -100 < scenes["mean_delta_l"] < 100
