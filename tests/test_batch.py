"""`adgen batch` end to end: real processes, a real tiny pipeline, real SQLite, a real kill -9, a real Ray.

One uninterrupted run is the reference. A run killed with SIGKILL mid-batch and resumed, and the same
batch on Ray, must reproduce its manifest exactly and every image pixel for pixel.
"""

from __future__ import annotations

import csv
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from adgen.batch import BatchOptions, BatchOutcome, run_batch
from adgen.errors import InputError
from adgen.progress_db import Item

REPO = Path(__file__).resolve().parents[1]
IMAGES = REPO / "examples" / "images"
FORMAT = "iab-320x50"  # the smallest canvas: compose and checks stay quick
CATALOGUE = ("sku,name,headline,price,brand,product_image\n"
             "A-1,Alpha Brew,Cold brew for busy mornings,4.50,northwind,can.png\n"
             "B-2,Beta Flask,Hot for twelve hours,29.00,Northwind,gone.png\n"
             "C-3,Gamma Tin,Jasmine tea,free,northwind,\n")
ASSETS = [("2", "A-1", "1"), ("2", "A-1", "2"), ("3", "B-2", "1"), ("3", "B-2", "2")]


def batch_args(catalogue: Path, model: Path, out: Path, *extra) -> list[str]:
    return [catalogue, "--model", model, "--steps", "1", "--format", FORMAT, "--variants", "2",
            "--batch-size", "2", "--seed", "7", "--out", out, *extra]


def adgen_process(*args) -> subprocess.Popen:
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "COLUMNS": "200"}
    return subprocess.Popen([sys.executable, "-m", "adgen", "batch", *map(str, args)], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)


def adgen_run(*args) -> tuple[int, str]:
    process = adgen_process(*args)
    output, _ = process.communicate(timeout=900)
    return process.returncode, output


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("catalogue")
    shutil.copy(IMAGES / "matcha-can.png", folder / "can.png")
    (folder / "products.csv").write_text(CATALOGUE, encoding="utf-8")
    return folder / "products.csv"


@pytest.fixture(scope="module")
def reference(tmp_path_factory, catalogue, sd15_dir):
    """The uninterrupted run, with one finishing worker process."""
    out = tmp_path_factory.mktemp("reference") / "out"
    code, output = adgen_run(*batch_args(catalogue, sd15_dir, out, "--workers", "1"))
    return out, code, output


def manifest(out: Path) -> list[dict]:
    return list(csv.DictReader((out / "manifest.csv").open(encoding="utf-8")))


def pixels(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


@pytest.mark.slow
def test_reference_run_makes_each_asset_once_and_reports_the_bad_row(reference):
    out, code, output = reference
    rows = manifest(out)
    made = [r for r in rows if r["status"] == "ok"]
    assert [(r["row"], r["sku"], r["variant"]) for r in made] == ASSETS, output
    assert all(r["format"] == FORMAT and r["verdict"] in ("pass", "warn", "fail") for r in made)
    assert all(Image.open(out / r["path"]).size == (320, 50) and (out / r["report"]).is_file() for r in made)
    assert made[0]["error"] == "" and "gone.png" in made[2]["error"] and "made without it" in made[2]["error"]
    bad = [r for r in rows if r["status"] == "error"]
    assert len(bad) == 1 and (bad[0]["row"], bad[0]["sku"], bad[0]["format"], bad[0]["variant"]) == ("4", "C-3", "", "")
    assert bad[0]["error"].startswith("row 4, field 'price'") and "'free'" in bad[0]["error"]
    assert code == 1, output  # a row errored
    assert "manifest:" in output and "/min" in output
    assert not list(out.rglob("*.tmp"))


@pytest.mark.slow
def test_kill_9_then_resume_matches_the_uninterrupted_run_pixel_for_pixel(reference, catalogue, sd15_dir, tmp_path):
    ref_out, _, _ = reference
    out = tmp_path / "out"
    process = adgen_process(*batch_args(catalogue, sd15_dir, out, "--workers", "1"))
    done = _wait_for_done(out / ".adgen-batch" / "progress.sqlite", process, at_least=1)
    os.killpg(process.pid, signal.SIGKILL)  # the driver and its worker processes, mid-batch
    process.wait()
    assert 1 <= len(done) < len(ASSETS), "killed after some assets and before the last"
    assert not (out / "manifest.csv").exists()
    kept = {key: (out / path).stat().st_mtime_ns for key, path in done.items()}

    code, output = adgen_run(*batch_args(catalogue, sd15_dir, out, "--workers", "0", "--resume"))
    assert code == 1, output
    assert manifest(out) == manifest(ref_out), "same rows, paths, verdicts and errors, each exactly once"
    for row in manifest(out):
        if row["status"] == "ok":
            assert np.array_equal(pixels(out / row["path"]), pixels(ref_out / row["path"])), row["path"]
    for key, mtime in kept.items():
        assert (out / done[key]).stat().st_mtime_ns == mtime, f"{key} was recorded before the kill: not remade"
    assert not list(out.rglob("*.tmp"))


def _wait_for_done(db: Path, process: subprocess.Popen, *, at_least: int, timeout_s: float = 600) -> dict:
    """Poll the progress table (read-only) until at_least assets are recorded done, for at most timeout_s."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the batch ended before it could be killed:\n{process.stdout.read()}")
        if db.exists():
            try:
                with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
                    done = dict(((row, fmt, variant), path) for row, fmt, variant, path in
                                conn.execute("SELECT row, format, variant, path FROM items WHERE status='done'"))
            except sqlite3.OperationalError:  # the schema is being created
                done = {}
            if len(done) >= at_least:
                return done
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    pytest.fail(f"fewer than {at_least} asset(s) recorded done in {db} after {timeout_s:.0f} s; "
                f"the batch said:\n{process.stdout.read()}")


def test_waiting_for_progress_gives_up_at_its_deadline(tmp_path):
    """The kill test's wait is bounded: a batch that records nothing fails the test and is killed."""
    stuck = subprocess.Popen([sys.executable, "-c", "print('loading', flush=True); import time; time.sleep(600)"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    with pytest.raises(pytest.fail.Exception, match="(?s)fewer than 1 asset.*after 1 s.*loading"):
        _wait_for_done(tmp_path / "progress.sqlite", stuck, at_least=1, timeout_s=1)
    assert stuck.poll() is not None, "the stuck batch was killed"


@pytest.mark.slow
def test_resume_with_other_options_is_refused(reference, catalogue, sd15_dir):
    out, _, _ = reference
    options = BatchOptions(catalogue=catalogue, out=out, formats=(FORMAT,), variants=2, seed=8, model=str(sd15_dir),
                           steps=1, batch_size=2, resume=True)
    with pytest.raises(InputError, match="different catalogue or different options"):
        run_batch(options)


@pytest.mark.slow
def test_ray_engine_matches_the_local_engine(reference, catalogue, sd15_dir, tmp_path, monkeypatch):
    pytest.importorskip("ray", reason="ray is not installed (pip install 'ray[data]')")
    ref_out, ref_code, _ = reference
    monkeypatch.setenv("PYTHONPATH", str(REPO))  # Ray's worker processes import this checkout
    out = tmp_path / "ray"
    options = BatchOptions(catalogue=catalogue, out=out, formats=(FORMAT,), variants=2, seed=7, model=str(sd15_dir),
                           steps=1, batch_size=2, engine="ray", workers=2)
    outcome = run_batch(options)
    assert outcome.exit_code == ref_code
    assert manifest(out) == manifest(ref_out)
    for row in manifest(out):
        if row["status"] == "ok":
            assert np.array_equal(pixels(out / row["path"]), pixels(ref_out / row["path"])), row["path"]


def test_unusable_file_exits_2(tmp_path):
    (tmp_path / "image.csv").write_bytes((IMAGES / "matcha-can.png").read_bytes())
    for path in (tmp_path / "missing.csv", tmp_path / "image.csv"):
        code, output = adgen_run(path, "--out", tmp_path / "out", "--brand", "northwind")
        assert code == 2, output
        assert "error:" in output and path.name in output


@pytest.mark.parametrize("statuses, verdicts, expected", [
    (["done", "done"], ["pass", "warn"], 0),
    (["done", "done"], ["pass", "fail"], 1),
    (["done", "error"], ["pass", ""], 1),
])
def test_exit_code(statuses, verdicts, expected, tmp_path):
    items = tuple(Item(i, 2, FORMAT, i + 1, "A-1", 0, status, verdict) for i, (status, verdict)
                  in enumerate(zip(statuses, verdicts)))
    assert BatchOutcome(catalogue=None, items=items, made=(), manifest=tmp_path).exit_code == expected


def test_default_workers_follow_the_cores_and_the_memory(monkeypatch):
    """Unasked, batch finishes on one process per usable core, capped at one per 2 GiB of memory."""
    import os

    from adgen.batch import default_workers

    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: set(range(16)), raising=False)
    pages = {"SC_PAGE_SIZE": 4096, "SC_PHYS_PAGES": 128 * 2**30 // 4096}
    monkeypatch.setattr(os, "sysconf", lambda name: pages[name])
    assert default_workers() == 16
    pages["SC_PHYS_PAGES"] = 8 * 2**30 // 4096
    assert default_workers() == 4
    pages["SC_PHYS_PAGES"] = 1 * 2**30 // 4096
    assert default_workers() == 1


def _text_plate(jobs=(None,), *, cpu_threads=1):
    """Plates that show stray text: background.stray-text fails and the next-seed fix renders anew."""
    from importlib.resources import files

    from PIL import ImageDraw, ImageFont

    plate = Image.new("RGB", (512, 512), (200, 190, 170))
    font = ImageFont.truetype(str(files("fontpkg_noto_sans") / "files" / "NotoSans[wdth,wght].ttf"), 64)
    ImageDraw.Draw(plate).text((40, 220), "SUMMER SALE", fill=(20, 20, 20), font=font)
    return [plate for _ in jobs]


def test_a_ray_finishing_tasks_fix_round_gets_its_new_plate_from_the_plate_service(tmp_path, monkeypatch):
    """On Ray, finishing tasks hold no GPU: a next-seed fix asks the plate-service actor for its plate."""
    import json
    import pickle

    ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'ray[data]')")
    from adgen.brand import load_brand
    from adgen.engines import ray as engine
    from adgen.engines.work import Job
    from adgen.request import AssetRequest
    from adgen.spec import load_product

    monkeypatch.setenv("PYTHONPATH", str(REPO))
    env = {key: value for key, value in os.environ.items() if key.startswith(engine.ENV_PREFIXES)}
    product = load_product(REPO / "examples" / "products" / "northwind-cold-brew.yaml")
    request = AssetRequest(product=product, brand="northwind", format="ig-square", model="adgen-tiny", steps=2)
    job = Job((2, "ig-square", 1), request, load_brand("northwind"), 0)
    out = tmp_path / "out"
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, runtime_env={"env_vars": env})
    try:
        service = engine.start_plate_service(gpus=0, cpu_threads=1)
        row = {"payload": pickle.dumps((job, _text_plate()[0]))}
        made = pickle.loads(ray.get(ray.remote(engine._finish).remote(row, str(out), service))["result"])
        rendered = ray.get(service.rendered_seeds.remote())
    finally:
        ray.shutdown()
    assert made.error == "" and made.path
    report = json.loads((out / made.report).read_text(encoding="utf-8"))
    assert "next-seed" in [attempt["fix"] for attempt in report["attempts"]]
    assert rendered, "the finishing task rendered its new plate itself"
    assert report["recipe"]["seed"] == rendered[-1]


def test_a_workers_fix_round_gets_its_new_plate_from_the_driver(tmp_path, monkeypatch):
    """A plate with stray text fails background.stray-text in a finishing worker; its next-seed fix
    asks the driver for the new plate (where the model is loaded) instead of loading a model of its own."""
    import json

    import adgen.engines.local as local

    rendered_in_driver = []
    real_maker = local.plate_maker

    def counting_maker(cpu_threads):
        make = real_maker(cpu_threads)
        # The plan travels with the request: the new plate is generated around the same product.
        return lambda prompt, resolved, layout: (rendered_in_driver.append((resolved.seed, layout.product_box))
                                                 or make(prompt, resolved, layout))

    monkeypatch.setattr(local, "render_plates", _text_plate)
    monkeypatch.setattr(local, "plate_maker", counting_maker)
    shutil.copy(IMAGES / "matcha-can.png", tmp_path / "can.png")
    (tmp_path / "one.csv").write_text("sku,name,headline,price,brand,product_image\n"
                                      "A-1,Alpha Brew,Cold brew for busy mornings,4.50,northwind,can.png\n")
    options = BatchOptions(catalogue=tmp_path / "one.csv", out=tmp_path / "out", formats=("ig-square",),
                           model="adgen-tiny", steps=2, batch_size=1, workers=1)
    outcome = run_batch(options)
    [made] = outcome.made
    assert made.error == "" and made.path
    report = json.loads((tmp_path / "out" / made.report).read_text(encoding="utf-8"))
    fixes = [attempt["fix"] for attempt in report["attempts"]]
    assert "next-seed" in fixes
    assert rendered_in_driver, "the worker rendered its new plate itself"
    assert report["recipe"]["seed"] == rendered_in_driver[-1][0]
    assert rendered_in_driver[-1][1] is not None, "the driver was not given the plan"
