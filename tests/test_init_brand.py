"""`adgen init brand NAME`: a kit that validates, every field commented, never an overwrite."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from adgen.brand import Adapter, BrandFont, BrandKit, Disclaimer, Logo, Style, load_brand, list_brand_ids
from adgen.cli import app


def test_init_brand_writes_a_kit_that_validates_with_a_comment_on_every_field(tmp_path):
    result = CliRunner().invoke(app, ["init", "brand", "acme", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    kit = load_brand("acme", root=tmp_path)
    assert kit.name == "Acme" and kit.logo_path.is_file() and kit.palette["accent"]
    text = (tmp_path / "acme" / "brand.yaml").read_text(encoding="utf-8")
    comments = "\n".join(line for line in text.splitlines() if line.lstrip().startswith("#"))
    fields = {name for model in (BrandKit, BrandFont, Logo, Style, Adapter, Disclaimer)
              for name in model.model_fields if name != "kit_dir"}
    undocumented = sorted(f for f in fields if not re.search(rf"\b{f}\b", comments))
    assert not undocumented, f"brand-template.yaml has no comment for {undocumented}"


def test_init_brand_goes_into_the_project_folder_and_is_found_there(tmp_path, monkeypatch):
    monkeypatch.delenv("ADGEN_BRAND_KITS")
    monkeypatch.chdir(tmp_path)
    assert CliRunner().invoke(app, ["init", "brand", "acme"]).exit_code == 0
    assert (tmp_path / "brand_kits" / "acme" / "brand.yaml").is_file()
    assert {"acme", "northwind", "sakura"} <= set(list_brand_ids())  # the bundled kits stay visible


def test_init_brand_refuses_to_overwrite_and_bad_ids(tmp_path):
    # AdgenError becomes "error: ..." and exit 2 in adgen.cli.main; CliRunner holds the exception itself.
    assert CliRunner().invoke(app, ["init", "brand", "acme", "--dir", str(tmp_path)]).exit_code == 0
    again = CliRunner().invoke(app, ["init", "brand", "acme", "--dir", str(tmp_path)])
    assert again.exit_code != 0 and "not overwritten" in str(again.exception)
    bad = CliRunner().invoke(app, ["init", "brand", "../evil", "--dir", str(tmp_path)])
    assert bad.exit_code != 0 and "brand id" in str(bad.exception)
