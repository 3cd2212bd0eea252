"""The adapter registry: versions, the promotion gate, rollback, the active version in the kit and the recipe,
tenant isolation, and the CLI (list, promote, rollback). No model runs here except where a test says so:
versions are folders with an adapter.json and a weights file, as the trainer writes them."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from adgen import lora_registry as registry
from adgen.brand import load_brand
from adgen.cli import app
from adgen.errors import InputError, NotFoundError


def fake_version(brand="northwind", tenant="local", *, base=30.0, mine=None, previous=None, stray=0.0,
                 previous_stray=0.0, against=None, base_model="test-base"):
    """A registered version as train_version + evaluate_version leave it (mine None: not evaluated)."""
    number, folder = registry.new_version_dir(brand, tenant)
    (folder / f"{brand}.safetensors").write_bytes(b"weights %d" % number)
    info = {"name": brand, "trigger": f"{brand} style", "base_model_sha256": base_model, "version": number,
            "created_at": 1.0 * number, "parent": None, "training_data": {"source": "style", "train_images": 27}}
    if mine is not None:
        conditions = {"base": {"palette_de00": base, "stray_text_rate": 0.0},
                      "adapter": {"palette_de00": mine, "stray_text_rate": stray}}
        if previous is not None:
            conditions["previous"] = {"palette_de00": previous, "stray_text_rate": previous_stray}
        info["eval"] = {"conditions": conditions, "previous_version": against}
    (folder / "adapter.json").write_text(json.dumps(info))
    return registry.get_version(brand, number, tenant)


def test_versions_are_numbered_folders_under_adgen_home(tmp_path):
    first, second = fake_version(), fake_version()
    assert (first.version, second.version) == (1, 2)
    assert first.path == tmp_path / "adgen-home" / "lora" / "northwind" / "v1"
    (first.path.parent / "v3").mkdir()  # a run that never finished: no adapter.json, not a version
    assert [v.version for v in registry.versions("northwind")] == [1, 2]
    assert registry.new_version_dir("northwind")[0] == 4
    with pytest.raises(NotFoundError, match="no such adapter version"):
        registry.get_version("northwind", 9)


def test_promote_needs_an_improvement_on_the_active_version_unless_forced():
    assert registry.promote("northwind", fake_version(base=30, mine=25).version).version == 1
    worse = fake_version(base=30, mine=26, previous=25, against=1)
    with pytest.raises(registry.PromotionRefused, match=r"does not bring plates closer.*26.00 against 25.00"):
        registry.promote("northwind", worse.version)
    assert registry.active("northwind").version == 1
    assert registry.promote("northwind", worse.version, force=True).version == 2
    record = json.loads((worse.path.parent / "active.json").read_text())
    assert record["version"] == 2 and record["history"][-1]["forced"] is True


@pytest.mark.parametrize("case, kwargs, refusal", [
    ("not evaluated", {}, "has not been evaluated"),
    ("no better than the base", {"base": 20, "mine": 21}, "than the base model without an adapter"),
    ("more stray text", {"base": 30, "mine": 20, "stray": 0.5}, "draws text on more plates"),
])
def test_the_first_promotion_is_measured_against_the_base(case, kwargs, refusal):
    with pytest.raises(registry.PromotionRefused, match=refusal):
        registry.promote("northwind", fake_version(**kwargs).version)


def test_a_version_evaluated_against_another_active_version_must_be_evaluated_again():
    registry.promote("northwind", fake_version(base=30, mine=25).version)
    registry.promote("northwind", fake_version(base=30, mine=22, previous=25, against=1).version)
    stale = fake_version(base=30, mine=20, previous=25, against=1)  # measured while v1 was active
    with pytest.raises(registry.PromotionRefused, match="evaluated against v1, but northwind/v2 is active"):
        registry.promote("northwind", stale.version)


def test_rollback_returns_to_the_version_active_before_then_to_the_kit_adapter():
    kit_adapter = load_brand("northwind").adapter_path
    registry.promote("northwind", fake_version(base=30, mine=25).version)
    registry.promote("northwind", fake_version(base=30, mine=20, previous=25, against=1).version)
    assert registry.rollback("northwind").version == 1
    assert load_brand("northwind").adapter_path == registry.get_version("northwind", 1).weights.resolve()
    assert registry.rollback("northwind") is None
    assert load_brand("northwind").adapter_path == kit_adapter
    with pytest.raises(InputError, match="nothing to roll back"):
        registry.rollback("northwind")


def test_the_active_version_is_the_kits_adapter_and_the_recipe_names_it():
    from adgen.generation import model_fingerprint
    from adgen.pipeline import recipe
    from adgen.prompt import build_prompt
    from adgen.request import DEFAULT_MODEL, AssetRequest, resolve
    from adgen.spec import load_product
    from conftest import EXAMPLES

    fitting = fake_version(base=30, mine=25, base_model=model_fingerprint(DEFAULT_MODEL))
    registry.promote("northwind", fitting.version)
    kit = load_brand("northwind")
    assert kit.adapter.trigger == "northwind style" and kit.adapter.weight == 0.8  # the kit's weight is kept
    request = AssetRequest(product=load_product(EXAMPLES / "products" / "northwind-cold-brew.yaml"),
                           brand="northwind", format="ig-square")
    resolved = resolve(request, brand=kit)
    assert resolved.adapter_path == fitting.weights.resolve()
    assert recipe(resolved, build_prompt(resolved))["adapter_version"] == "northwind/v1"
    # The base fingerprint still guards: a version trained on another base is not applied.
    other = fake_version(base=30, mine=20, previous=25, against=1, base_model="another-base")
    registry.promote("northwind", other.version)
    resolved = resolve(request, brand=load_brand("northwind"))
    assert resolved.adapter_path is None and "trained on another base model" in resolved.adapter_note


def test_a_tenants_versions_are_its_own():
    mine = fake_version(tenant="shop", base=30, mine=25)
    assert registry.versions("northwind") == [] and registry.versions("northwind", "other") == []
    registry.promote("northwind", mine.version, "shop")
    assert registry.active("northwind") is None  # the CLI's kit is unchanged
    assert registry.apply_active(load_brand("northwind"), "shop").adapter_path == mine.weights.resolve()
    with pytest.raises(NotFoundError):
        registry.promote("northwind", mine.version, "other")
    odd = registry.registry_dir("northwind", "Shop Ltd / EU")  # a key name is any text
    assert odd.parent.parent.name == "_tenants" and "/" not in odd.parent.name and " " not in odd.parent.name


def test_lora_list_promote_and_rollback_need_only_brand_and_version():
    fake_version(base=30, mine=25)
    fake_version(base=30, mine=27, previous=25, against=1)
    runner = CliRunner()
    listed = runner.invoke(app, ["lora", "list", "--brand", "northwind"], env={"COLUMNS": "220"})
    assert listed.exit_code == 0, listed.output
    assert "30.00 → 25.00" in listed.output and "no active version" in listed.output
    promoted = runner.invoke(app, ["lora", "promote", "--brand", "northwind", "--version", "1"])
    assert promoted.exit_code == 0 and "northwind/v1 is active" in promoted.output, promoted.output
    refused = runner.invoke(app, ["lora", "promote", "--brand", "northwind", "--version", "2"])
    assert isinstance(refused.exception, registry.PromotionRefused)  # the CLI's main() shows it, exit 2
    assert "27.00 against 25.00" in str(refused.exception)
    assert registry.active("northwind").version == 1
    rolled = runner.invoke(app, ["lora", "rollback", "--brand", "northwind"])
    assert rolled.exit_code == 0 and "kit adapter applies" in rolled.output, rolled.output


def test_two_promotions_at_once_leave_one_consistent_record():
    """Each promote reads and writes active.json under a lock: no promotion is lost from the history."""
    from concurrent.futures import ThreadPoolExecutor

    numbers = [fake_version(base=30, mine=25).version for _ in range(6)]
    with ThreadPoolExecutor(6) as pool:
        list(pool.map(lambda n: registry.promote("northwind", n, force=True), numbers))
    record = json.loads((registry.registry_dir("northwind") / "active.json").read_text())
    assert sorted(entry["version"] for entry in record["history"]) == numbers
    assert record["version"] == record["history"][-1]["version"]
