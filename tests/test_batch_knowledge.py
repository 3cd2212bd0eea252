"""`adgen batch` checks each row's claims against the brand's knowledge base, as run() does, in every engine's
workers: a backed claim passes with its passage as evidence, an unbacked one fails, and the manifest says so."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from adgen.batch import BatchOptions, run_batch
from adgen.knowledge import LOCAL_TENANT, KnowledgeBase

REPO = Path(__file__).resolve().parents[1]
IMAGES = REPO / "examples" / "images"
RULE = "copy.claim-substantiated"
EVIDENCE = ("# Steeping\n\nEvery batch of our cold brew is steeped for 18 hours in cold filtered water "
            "(production log 2024-03).\n")
CATALOGUE = ("sku,name,headline,price,brand,product_image,claims\n"
             "A-1,Alpha Brew,Cold brew for busy mornings,4.50,northwind,can.png,Steeped for 18 hours\n"
             "B-2,Beta Brew,Cold brew for busy mornings,4.50,northwind,can.png,Clinically proven to boost energy\n")


@pytest.mark.parametrize("engine", ["local", pytest.param("ray", marks=pytest.mark.slow)])
def test_batch_rows_claims_pass_and_fail_with_their_evidence(engine, tmp_path, monkeypatch, sd15_dir):
    if engine == "ray":
        pytest.importorskip("ray", reason="ray is not installed (pip install 'ray[data]')")
        monkeypatch.setenv("PYTHONPATH", str(REPO))  # Ray's worker processes import this checkout
    (tmp_path / "evidence.md").write_text(EVIDENCE, encoding="utf-8")
    KnowledgeBase(LOCAL_TENANT, "northwind").add([tmp_path / "evidence.md"], "claim-evidence")
    shutil.copy(IMAGES / "matcha-can.png", tmp_path / "can.png")
    (tmp_path / "products.csv").write_text(CATALOGUE, encoding="utf-8")
    out = tmp_path / "out"
    outcome = run_batch(BatchOptions(catalogue=tmp_path / "products.csv", out=out, formats=("iab-320x50",),
                                     model=str(sd15_dir), steps=1, batch_size=2, engine=engine, workers=1))
    made = {result.key[0]: result for result in outcome.made}
    assert all(not r.error for r in made.values()), [r.error for r in made.values()]
    rows = {row["sku"]: row for row in csv.DictReader((out / "manifest.csv").open(encoding="utf-8"))}
    claim = {}
    for sku, row in rows.items():
        report = json.loads((out / row["report"]).read_text(encoding="utf-8"))
        [claim[sku]] = [f for f in report["findings"] if f["rule"] == RULE]
    assert claim["A-1"]["status"] == "pass" and claim["B-2"]["status"] == "fail"
    assert rows["B-2"]["verdict"] == "fail"
    backed = claim["A-1"]["measured"]
    assert backed["claim"] == "Steeped for 18 hours" and backed["source"] == "evidence.md"
    assert backed["passage"].startswith("Every batch of our cold brew is steeped for 18 hours")
    assert claim["B-2"]["measured"]["claim"] == "Clinically proven to boost energy"
    assert RULE in made[3].failed_rules and RULE not in made[2].failed_rules
