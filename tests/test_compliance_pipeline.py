"""One real pipeline run (tiny SD 1.5 folder): the shipped bytes carry valid labels, the report has
evidence, and the HTML report and contact sheet are written for it."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from adgen.pipeline import run
from adgen.request import AssetRequest


@pytest.fixture(scope="module")
def exported(tmp_path_factory, sd15_dir, cold_brew_module):
    out = tmp_path_factory.mktemp("pipeline") / "out"
    result = run(AssetRequest(product=cold_brew_module, brand="northwind", format="ig-square", model=str(sd15_dir),
                              steps=2), out)
    return out, result


@pytest.fixture(scope="module")
def cold_brew_module():
    from conftest import EXAMPLES
    from adgen.spec import load_product

    return load_product(EXAMPLES / "products" / "northwind-cold-brew.yaml")


def test_label_ai_metadata_passes_on_a_real_run(exported):
    _, result = exported
    finding = [f for f in result.report.findings if f.rule == "label.ai-metadata"]
    assert [f.status for f in finding] == ["pass"], [f.message for f in finding]


def test_the_exported_file_reads_back_valid_with_c2pa_and_both_xmp_labels(exported):
    import c2pa

    _, result = exported
    data = result.files.image.read_bytes()
    # The local signing certificate carries the C2PA EKU, which c2pa's default trust config lacks.
    ctx = c2pa.Context.from_dict({"trust": {"trust_config": "1.3.6.1.4.1.62558.2.1\n"},
                                  "verify": {"remote_manifest_fetch": False}})
    with c2pa.Reader("image/jpeg", io.BytesIO(data), context=ctx) as reader:
        assert reader.get_validation_state() == "Valid"
        labels = [a["label"] for a in reader.get_active_manifest()["assertions"]]
    assert "org.adgen.recipe" in labels
    with Image.open(io.BytesIO(data)) as image:
        xmp = image.info["xmp"].decode("utf-8") if isinstance(image.info["xmp"], bytes) else image.info["xmp"]
    assert "compositeWithTrainedAlgorithmicMedia" in xmp and "TC260:AIGC" in xmp


def test_every_design_rule_reports_on_a_real_asset(exported):
    _, result = exported
    doc = json.loads(result.files.report.read_text(encoding="utf-8"))
    from adgen.compliance import RULES

    assert {f["rule"] for f in doc["findings"]} == {r.id for r in RULES}
    for finding in doc["findings"]:
        if finding["status"] in ("pass", "fail") and finding["element"] not in (None, "plate"):
            assert finding["box"] is not None, finding
    assert doc["layers"] and all(len(layer["box"]) == 4 for layer in doc["layers"])


def test_evidence_html_and_contact_sheet_for_the_run(exported):
    from adgen.evidence import write_evidence

    out, result = exported
    html_path, sheet_path = write_evidence(out, [result.files.report])
    page = html_path.read_text(encoding="utf-8")
    relative = result.files.image.relative_to(out).as_posix()
    assert f'href="{relative}"' in page and "label.ai-metadata" in page
    with Image.open(sheet_path) as sheet:
        assert sheet.width >= 320 and sheet.height >= 320
