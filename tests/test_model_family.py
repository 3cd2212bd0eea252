"""Your own model: family and defaults from its config files (not its name); a retrained adgen-tiny loads."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adgen.model_family import DISTILLED_DEFAULTS, FAMILY_DEFAULTS, model_family
from adgen.request import AssetRequest, model_defaults, resolve

REPO = Path(__file__).resolve().parents[1]
PRODUCT = REPO / "examples" / "products" / "northwind-cold-brew.yaml"
SMOKE_CONFIG = REPO / "adgen" / "tiny" / "train-smoke.yaml"


def _copy_with_spacing(source: Path, target: Path, spacing: str) -> Path:
    shutil.copytree(source, target)
    config_file = target / "scheduler" / "scheduler_config.json"
    config = json.loads(config_file.read_text())
    config_file.write_text(json.dumps({**config, "timestep_spacing": spacing}))
    return target


def test_sd15_and_sdxl_folders_are_told_apart_by_their_pipeline_class(sd15_dir, sdxl_dir):
    assert model_family(str(sd15_dir)).family == "sd15"
    assert model_family(str(sdxl_dir)).family == "sdxl"
    assert model_defaults(str(sdxl_dir)) == FAMILY_DEFAULTS["sdxl"]


def test_a_few_step_model_is_known_by_its_scheduler_config_not_its_name(sd15_dir, tmp_path):
    named_turbo = _copy_with_spacing(sd15_dir, tmp_path / "my-sd-turbo-finetune", "leading")
    plainly_named = _copy_with_spacing(sd15_dir, tmp_path / "base", "trailing")
    assert not model_family(str(named_turbo)).distilled
    assert model_defaults(str(named_turbo)) == FAMILY_DEFAULTS["sd15"]
    family = model_family(str(plainly_named))
    assert family.distilled and "trailing" in family.evidence
    assert model_defaults(str(plainly_named)) == DISTILLED_DEFAULTS
    product = __import__("adgen.spec", fromlist=["load_product"]).load_product(PRODUCT)
    resolved = resolve(AssetRequest(product=product, brand="northwind", format="ig-square", model=str(plainly_named)))
    assert (resolved.steps, resolved.guidance) == DISTILLED_DEFAULTS


def test_a_name_alone_decides_nothing():
    """A path that does not exist has no config to read: the plain defaults, whatever it is called."""
    assert model_defaults("/models/sd-turbo") == FAMILY_DEFAULTS["unknown"]


def test_the_embedded_model_is_adgen_tiny():
    from adgen.tiny import TINY_DEFAULT_GUIDANCE, TINY_DEFAULT_STEPS

    assert model_family("adgen-tiny").family == "adgen-tiny"
    assert model_defaults("adgen-tiny") == (TINY_DEFAULT_STEPS, TINY_DEFAULT_GUIDANCE)


@pytest.fixture(scope="module")
def retrained(tmp_path_factory):
    """`adgen train base` at the CI size (adgen/tiny/train-smoke.yaml): a folder without text_encoder/."""
    from adgen.cli import app

    out = tmp_path_factory.mktemp("retrained") / "my-tiny"
    result = CliRunner().invoke(app, ["train", "base", "--config", str(SMOKE_CONFIG), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"--model {out}" in " ".join(result.output.split())
    return out


def test_a_retrained_adgen_tiny_generates_with_model_like_any_folder(retrained, tmp_path, monkeypatch):
    from adgen.cli import app
    from adgen.tiny import TINY_DEFAULT_STEPS

    monkeypatch.setenv("ADGEN_DEVICE", "cpu")
    assert not (retrained / "text_encoder").exists()
    assert model_family(str(retrained)).family == "adgen-tiny"
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["generate", "--brand", "northwind", "--product", str(PRODUCT),
                                      "--format", "iab-320x50", "--model", str(retrained), "--out", str(out)])
    assert result.exit_code in (0, 1), result.output  # made (pass/warn or a failed rule), never bad input
    report = json.loads(next(out.rglob("*.report.json")).read_text())
    assert report["recipe"]["model"] == str(retrained) and report["recipe"]["steps"] == TINY_DEFAULT_STEPS


def test_lora_train_accepts_a_retrained_adgen_tiny_as_base(retrained, tmp_path):
    from adgen.cli import app
    from adgen.generation import model_fingerprint

    result = CliRunner().invoke(app, ["lora", "train", "--brand", "northwind", "--base", str(retrained),
                                      "--steps", "1", "--rank", "2", "--out", str(tmp_path / "lora")])
    assert result.exit_code == 0, result.output
    info = json.loads((tmp_path / "lora" / "northwind" / "adapter.json").read_text())
    assert info["base_model_sha256"] == model_fingerprint(str(retrained))


def test_a_brand_adapter_on_another_base_is_a_warning_and_a_finding_not_silence(sd15_dir, tmp_path):
    """northwind's adapter was trained on adgen-tiny; on another model it is skipped, and the run says so."""
    from adgen.cli import app

    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["generate", "--brand", "northwind", "--product", str(PRODUCT), "--format",
                                      "iab-320x50", "--model", str(sd15_dir), "--steps", "1", "--out", str(out)],
                                env={"COLUMNS": "300"})
    assert result.exit_code in (0, 1), result.output
    said = " ".join(result.output.split())
    assert "warning:" in said and "trained on another base model" in said
    report = json.loads(next(out.rglob("*.report.json")).read_text())
    finding = next(f for f in report["findings"] if f["rule"] == "brand.adapter")
    assert finding["status"] == "warn" and "northwind" in finding["message"]
    assert report["recipe"]["adapter"] is None and report["verdict"] in ("warn", "fail")
