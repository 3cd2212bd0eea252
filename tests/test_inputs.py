"""Input validation: every bad file gets one message naming the file, the field and the value."""

from pathlib import Path

import pytest

from adgen.brand import load_brand
from adgen.errors import AdgenError, InputError, NotFoundError
from adgen.formats import all_formats, get_format
from adgen.spec import load_product

REPO = Path(__file__).resolve().parents[1]


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_example_products_load_with_image_paths_resolved():
    for path in (REPO / "examples" / "products").glob("*.yaml"):
        spec = load_product(path)
        assert spec.product_image is None or spec.product_image.is_file(), path


@pytest.mark.parametrize("text, field, value", [
    ("name: X\nheadline: H\n", "sku", None),
    ("sku: A1\nname: X\nheadline: H\nprice: -3\n", "price", "-3"),
    ("sku: A1\nname: X\nheadline: H\ncurrency: dollars\n", "currency", "dollars"),
    ("sku: A1\nname: X\nheadline: H\nlocale: english\n", "locale", "english"),
    ("sku: ../etc\nname: X\nheadline: H\n", "sku", "../etc"),
    ("sku: A1\nname: X\nheadline: H\ncolour: red\n", "colour", "red"),
])
def test_bad_product_spec_names_file_field_and_value(tmp_path, text, field, value):
    path = write(tmp_path, "p.yaml", text)
    with pytest.raises(InputError) as info:
        load_product(path)
    message = str(info.value)
    assert str(path) in message and f"'{field}'" in message
    if value is not None:
        assert value in message


def test_unparseable_yaml_and_json_name_the_file(tmp_path):
    for name, text in (("p.yaml", "sku: [unclosed\n"), ("p.json", "{\"sku\": }")):
        path = write(tmp_path, name, text)
        with pytest.raises(InputError, match=str(path)):
            load_product(path)


def test_json_spec_loads(tmp_path):
    path = write(tmp_path, "p.json", '{"sku": "J1", "name": "Jar", "headline": "Hi", "price": 3.5, "currency": "EUR"}')
    spec = load_product(path)
    assert spec.sku == "J1" and str(spec.price) == "3.5"


def test_spec_is_frozen(cold_brew):
    with pytest.raises(Exception):
        cold_brew.sku = "other"


@pytest.mark.parametrize("brand_id", ["../../etc", "North Wind", "", "a/b"])
def test_brand_id_must_be_a_plain_name(brand_id):
    with pytest.raises(InputError, match="brand"):
        load_brand(brand_id)


def test_unknown_brand_lists_known_ones():
    with pytest.raises(NotFoundError) as info:
        load_brand("acme")
    assert "northwind" in str(info.value) and "acme" in str(info.value)


def test_bad_brand_palette_names_role_and_value(tmp_path):
    kit = tmp_path / "kits" / "bad"
    kit.mkdir(parents=True)
    (kit / "logo.png").write_bytes((REPO / "brand_kits/northwind/logo.png").read_bytes())
    (kit / "brand.yaml").write_text("id: bad\nname: Bad\npalette: {primary: '#12345'}\nlogo: {file: logo.png}\n")
    with pytest.raises(InputError) as info:
        load_brand("bad", root=tmp_path / "kits")
    assert "palette" in str(info.value) and "#12345" in str(info.value)


def test_bundled_brands_load_and_disclaimers_select_by_category_and_locale():
    northwind, sakura = load_brand("northwind"), load_brand("sakura")
    assert northwind.disclaimers_for("coffee", "en-US")
    assert not northwind.disclaimers_for("outdoor", "en-US")
    assert sakura.disclaimers_for("tea", "ja-JP") == ("画像はイメージです。",)
    assert sakura.disclaimers_for("tea", "zh-CN") == ("图片仅供参考",)


def test_formats_registry_has_required_sizes_and_unknown_is_an_error():
    formats = all_formats()
    assert formats["ig-square"].size.as_tuple() == (1080, 1080)
    assert formats["story"].size.as_tuple() == (1080, 1920)
    assert formats["iab-300x250"].max_kb == 150
    assert formats["amazon-main"].marketplace
    with pytest.raises(AdgenError, match="nope"):
        get_format("nope")


def test_user_formats_file_adds_formats(tmp_path, monkeypatch):
    from adgen import formats as formats_module

    extra = write(tmp_path, "f.yaml", "- {id: pin, channel: pinterest, width: 1000, height: 1500, template: portrait, max_kb: 2000}\n")
    monkeypatch.setenv("ADGEN_FORMATS", str(extra))
    formats_module._load_registry.cache_clear()
    assert get_format("pin").size.as_tuple() == (1000, 1500)
