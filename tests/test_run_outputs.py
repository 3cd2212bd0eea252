"""What a run tells and leaves behind: printed paths, a report of its own assets only, its exit code."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml
from PIL import Image
from typer.testing import CliRunner

from adgen.cli import app

REPO = Path(__file__).resolve().parents[1]
PRODUCT = REPO / "examples" / "products" / "northwind-cold-brew.yaml"
FORMAT = "iab-320x50"  # the smallest canvas: compose and checks stay quick


def _earlier_run(out: Path) -> str:
    """An asset an earlier run left in the same output folder (its image and report)."""
    folder = out / "EARLIER-RUN"
    folder.mkdir(parents=True)
    Image.new("RGB", (320, 50), "white").save(folder / "ig-square-v1.png")
    report = {"verdict": "fail", "findings": [], "recipe": {"product": {"sku": "EARLIER-RUN"}, "format": "ig-square",
                                                           "variant": 1}}
    (folder / "ig-square-v1.report.json").write_text(json.dumps(report))
    return "EARLIER-RUN/ig-square-v1.png"


def _invoke(*args: str):
    return CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "300"})


def test_generate_reports_only_its_own_assets(tmp_path, sd15_dir):
    out = tmp_path / "out"
    earlier = _earlier_run(out)
    result = _invoke("generate", "--brand", "northwind", "--product", PRODUCT, "--format", FORMAT,
                     "--model", sd15_dir, "--steps", "1", "--out", out)
    assert result.exit_code in (0, 1), result.output
    page = (out / "report.html").read_text(encoding="utf-8")
    assert f"NW-CB-001/{FORMAT}-v1." in page and earlier not in page
    assert "1 assets" in page


def test_batch_prints_paths_and_reports_what_its_manifest_lists(tmp_path, sd15_dir):
    shutil.copy(REPO / "examples" / "images" / "matcha-can.png", tmp_path / "can.png")
    catalogue = tmp_path / "products.csv"
    catalogue.write_text("sku,name,headline,price,brand,product_image\n"
                         "A-1,Alpha Brew,Cold brew for busy mornings,4.50,northwind,can.png\n", encoding="utf-8")
    out = tmp_path / "out"
    earlier = _earlier_run(out)
    result = _invoke("batch", catalogue, "--model", sd15_dir, "--steps", "1", "--format", FORMAT,
                     "--workers", "0", "--out", out)
    assert result.exit_code in (0, 1), result.output
    lines = result.output.splitlines()
    assert f"report: {out / 'report.html'}" in lines and f"contact sheet: {out / 'contact-sheet.png'}" in lines
    assert "PosixPath" not in result.output and "(" not in next(line for line in lines if line.startswith("report:"))
    page = (out / "report.html").read_text(encoding="utf-8")
    assert f"A-1/{FORMAT}-v1." in page and earlier not in page


def test_demo_exits_like_generate_when_an_asset_fails(tmp_path, monkeypatch):
    """`adgen demo` used to exit 0 whatever its assets' verdicts; now 1 when one fails, as generate does."""
    kits = tmp_path / "kits"
    for kit in ("northwind", "sakura"):
        shutil.copytree(REPO / "brand_kits" / kit, kits / kit, ignore=shutil.ignore_patterns("style"))
    brand = yaml.safe_load((kits / "northwind" / "brand.yaml").read_text(encoding="utf-8"))
    brand["thresholds"] = {"text.min-size.px": 400}  # no copy is that large: every northwind asset fails
    (kits / "northwind" / "brand.yaml").write_text(yaml.safe_dump(brand), encoding="utf-8")
    monkeypatch.setenv("ADGEN_BRAND_KITS", str(kits))
    out = tmp_path / "demo"
    result = _invoke("demo", "--out", out)
    verdicts = [line.split(",")[5] for line in (out / "manifest.csv").read_text().splitlines()[1:]]
    assert "fail" in verdicts and result.exit_code == 1, result.output
