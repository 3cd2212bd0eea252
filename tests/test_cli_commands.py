"""Every CLI command run with only its required options, as a user first types it.

Defaults have to work on their own: a default that fails (a bad path, a minimum the default is
below) shows up here and nowhere else, since the other tests pass every option. Commands that
finish run in-process (CliRunner) from a temp folder, so their relative default paths land
there; `batch` (worker processes), `serve` and `ui` (servers) run as real processes.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from api_helpers import free_port, wait_for_http
from PIL import Image
from typer.testing import CliRunner

from adgen.cli import app

REPO = Path(__file__).resolve().parents[1]
PRODUCT = REPO / "examples" / "products" / "northwind-cold-brew.yaml"
IMAGE = REPO / "examples" / "images" / "cold-brew-bag.png"
SMOKE_CONFIG = REPO / "adgen" / "tiny" / "train-smoke.yaml"

# Each command and the test that runs it with only its required options. Where a test adds
# an option, the reason is next to that test.
MINIMAL = {
    "generate": "test_generate_needs_only_brand_and_product",
    "demo": "test_cli.py::test_demo_makes_every_planned_asset_with_one_manifest_and_the_evidence",
    "check": "test_check_needs_only_image_brand_and_format",
    "batch": "test_batch_needs_only_the_catalogue_and_out",
    "batch-export-approved": "test_batch_review.py::test_batch_export_approved_needs_only_the_folder_to_and_key",
    "pack": "test_pack.py::test_pack_needs_only_brand_product_and_a_dieline",
    "serve": "test_serve_needs_no_option",
    "ui": "test_ui_needs_no_option",
    "plate": "test_plate_needs_only_prompt_and_out",
    "formats": "test_cli.py::test_registry_piped_prints_whole_ids_in_tab_separated_rows",
    "marks": "test_cli.py::test_registry_piped_prints_whole_ids_in_tab_separated_rows",
    "brands": "test_cli.py::test_registry_piped_prints_whole_ids_in_tab_separated_rows",
    "rules": "test_cli.py::test_registry_piped_prints_whole_ids_in_tab_separated_rows",
    "init brand": "test_init_brand.py::test_init_brand_goes_into_the_project_folder_and_is_found_there",
    "keys init-signing": "test_keys_init_signing_needs_no_option",
    "keys create": "test_keys_create_list_and_revoke_need_only_their_arguments",
    "keys list": "test_keys_create_list_and_revoke_need_only_their_arguments",
    "keys revoke": "test_keys_create_list_and_revoke_need_only_their_arguments",
    "train base": "test_train_base_with_the_smoke_config",
    "lora train": "test_lora_train_needs_only_the_brand",
    "lora eval": "test_tiny.py::test_lora_eval_command_shows_the_shipped_adapter_pulls_plates_to_its_palette",
    "lora style-set": "test_lora_train.py::test_lora_style_set_needs_only_the_brand_and_remakes_the_shipped_set",
    "lora list": "test_lora_registry.py::test_lora_list_promote_and_rollback_need_only_brand_and_version",
    "lora promote": "test_lora_registry.py::test_lora_list_promote_and_rollback_need_only_brand_and_version",
    "lora rollback": "test_lora_registry.py::test_lora_list_promote_and_rollback_need_only_brand_and_version",
    "kb add": "test_kb_commands_need_only_their_arguments",
    "kb list": "test_kb_commands_need_only_their_arguments",
    "kb search": "test_kb_commands_need_only_their_arguments",
    "kb remove": "test_kb_commands_need_only_their_arguments",
    "review list": "test_review_commands_need_only_the_asset_and_the_key",
    "review approve": "test_review_commands_need_only_the_asset_and_the_key",
    "review request-changes": "test_review_commands_need_only_the_asset_and_the_key",
    "review reject": "test_review_commands_need_only_the_asset_and_the_key",
    "review audit": "test_review_commands_need_only_the_asset_and_the_key",
}


def test_every_command_has_a_minimal_run():
    """A new command needs its row in MINIMAL and a test run with only its required options."""
    assert sorted(_command_paths(typer.main.get_command(app))) == sorted(MINIMAL)
    for name in MINIMAL.values():
        module, _, test = name.rpartition("::")
        source = Path(__file__) if not module else Path(__file__).with_name(module)
        assert f"def {test}(" in source.read_text(encoding="utf-8"), name


def _command_paths(group, prefix=()):
    commands = getattr(group, "commands", {})
    if not commands:
        yield " ".join(prefix)
    for name, command in commands.items():
        yield from _command_paths(command, (*prefix, name))


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """Run from an empty folder: relative defaults (out/, out/adgen-tiny) are written there."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def invoke(*args) -> str:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code in (0, 1), result.output  # 1: an asset failed a rule, still made
    return result.output


@pytest.mark.slow
def test_generate_needs_only_brand_and_product(in_tmp):
    """Defaults: ig-square, one variant, seed 0, adgen-tiny at its own steps, into ./out."""
    output = invoke("generate", "--brand", "northwind", "--product", PRODUCT)
    [row] = list(csv.DictReader((in_tmp / "out" / "manifest.csv").open(encoding="utf-8")))
    assert (row["format"], row["variant"], row["status"]) == ("ig-square", "1", "ok"), output
    assert Image.open(in_tmp / "out" / row["path"]).size == (1080, 1080)
    recipe = json.loads((in_tmp / "out" / row["report"]).read_text(encoding="utf-8"))["recipe"]
    assert recipe["model"] == "adgen-tiny" and recipe["steps"] == 20


def test_check_needs_only_image_brand_and_format():
    output = invoke("check", IMAGE, "--brand", "northwind", "--format", "ig-square")
    assert "format.size" in output and "fail" in output  # a product cut-out is not 1080x1080


def test_plate_needs_only_prompt_and_out(tmp_path):
    invoke("plate", "--prompt", "studio backdrop with a round podium", "--out", tmp_path / "plate.png")
    assert Image.open(tmp_path / "plate.png").size == (128, 128)  # adgen-tiny's native square


def test_keys_init_signing_needs_no_option():
    invoke("keys", "init-signing")
    assert (Path(os.environ["ADGEN_HOME"]) / "keys" / "signer.key").is_file()


def test_keys_create_list_and_revoke_need_only_their_arguments():
    key = invoke("keys", "create", "--brands", "northwind")
    key_id = next(line.split()[-1] for line in key.splitlines() if line.startswith("key id:"))
    assert key_id in invoke("keys", "list")
    assert f"revoked {key_id}" in invoke("keys", "revoke", key_id)


@pytest.mark.slow
def test_train_base_with_the_smoke_config(in_tmp):
    """--config is the one addition: the default config is the hour-long run that made adgen-tiny."""
    output = invoke("train", "base", "--config", SMOKE_CONFIG)
    assert (in_tmp / "out" / "adgen-tiny" / "model_index.json").is_file(), output


@pytest.mark.slow
def test_lora_train_needs_only_the_brand(tmp_path, monkeypatch):
    """--steps 2 instead of 300 keeps it cheap; the adapter becomes the registry's v1 under ADGEN_HOME
    (a temp folder here), not promoted: the shipped adapters are never overwritten."""
    done = _adgen("lora", "train", "--brand", "northwind", "--steps", "2")
    assert done.returncode == 0, done.stdout[-3000:]
    version = Path(os.environ["ADGEN_HOME"]) / "lora" / "northwind" / "v1"
    assert (version / "northwind.safetensors").is_file(), done.stdout[-3000:]
    info = json.loads((version / "adapter.json").read_text())
    assert info["version"] == 1 and info["training_data"]["held_out"], info
    assert not (version.parent / "active.json").exists()


def test_batch_needs_only_the_catalogue_and_out(tmp_path):
    """Defaults: each row's brand column, ig-square, adgen-tiny, one worker per core (a process pool)."""
    shutil.copy(IMAGE, tmp_path / "bag.png")
    (tmp_path / "products.csv").write_text("sku,name,headline,price,brand,product_image\n"
                                           "A-1,Alpha Brew,Cold brew for busy mornings,4.50,northwind,bag.png\n",
                                           encoding="utf-8")
    done = _adgen("batch", tmp_path / "products.csv", "--out", tmp_path / "out")
    assert done.returncode in (0, 1), done.stdout[-3000:]
    [row] = list(csv.DictReader((tmp_path / "out" / "manifest.csv").open(encoding="utf-8")))
    assert (row["sku"], row["format"], row["status"]) == ("A-1", "ig-square", "ok"), row


def test_serve_needs_no_option():
    """--port only because the default (8000) may be taken on a shared machine."""
    port = free_port()
    server = _adgen_process("serve", "--port", str(port))
    try:
        wait_for_http(f"http://127.0.0.1:{port}/readyz", server)
    finally:
        server.terminate()
        server.communicate(timeout=60)


def test_ui_needs_no_option():
    """Where to listen comes from GRADIO_SERVER_PORT, as for any Gradio app."""
    port = free_port()
    ui = _adgen_process("ui", env={"GRADIO_SERVER_PORT": str(port)})
    try:
        wait_for_http(f"http://127.0.0.1:{port}/", ui)
    finally:
        ui.terminate()
        ui.communicate(timeout=60)


def _adgen(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "adgen", *map(str, args)], cwd=REPO, env=_env(), text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=900)


def _adgen_process(*args, env=None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "adgen", *args], cwd=REPO, env=_env(env), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _env(extra=None) -> dict:
    return {**os.environ, "PYTHONWARNINGS": "ignore", "COLUMNS": "200", **(extra or {})}


def test_kb_commands_need_only_their_arguments(in_tmp):
    book = in_tmp / "evidence.md"
    book.write_text("# Claims\n\nOur cold brew gets an 18-hour steep.\n", encoding="utf-8")
    runner = CliRunner()
    for args in (["kb", "add", "--brand", "northwind", "--kind", "claim-evidence", str(book)],
                 ["kb", "list", "--brand", "northwind"],
                 ["kb", "search", "--brand", "northwind", "steeped for 18 hours"],
                 ["kb", "remove", "--brand", "northwind", "evidence.md"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (args, result.output)


def test_review_commands_need_only_the_asset_and_the_key(in_tmp):
    from adgen.apikeys import create_key
    from adgen.service.store import JobStore
    from adgen.service_db import service_db_path

    creator, _ = create_key(["northwind"], "shop")
    reviewer, _ = create_key(["northwind"], "shop", role="reviewer")
    store = JobStore(service_db_path())
    job, _ = store.create("job_1", tenant="shop", key_id=creator.id, brand="northwind", request={}, body_sha256="x",
                          idempotency_key=None, callback_url=None, total=3, max_queued=10, max_queued_per_tenant=10)
    image = in_tmp / "a.png"
    Image.new("RGB", (8, 8), "navy").save(image)
    assets = [store.record_asset(job.id, i, f"SKU{i}", "ig-square", 1, verdict="pass", image_path=image, report={},
                                 seconds=0.1).id for i in range(3)]
    runner = CliRunner()
    for args in (["review", "list", "--key-id", reviewer.id],
                 ["review", "approve", assets[0], "--key-id", reviewer.id],
                 # A decision against an asset must say why (a reason code): the rule, not a default.
                 ["review", "request-changes", assets[1], "--key-id", reviewer.id, "--reason", "copy"],
                 ["review", "reject", assets[2], "--key-id", reviewer.id, "--reason", "legal"],
                 ["review", "audit", "--key-id", reviewer.id]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (args, result.output, result.exception)
