"""Catalogue CSVs as teams have them: our schema, Shopify exports, Merchant feeds; encodings, delimiters, bad rows."""

from __future__ import annotations

import codecs
import csv
import io
import http.server
import shutil
import threading
from decimal import Decimal
from functools import partial
from pathlib import Path

import pytest

from adgen.catalogue import parse_mapping, read_catalogue
from adgen.catalogue_images import MAX_IMAGE_BYTES
from adgen.errors import AdgenError, InputError, NotFoundError

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
IMAGES = REPO / "examples" / "images"

OWN = [["sku", "name", "headline", "features", "price", "currency", "locale", "product_image", "brand"],
       ["A-1", "Kaffee Crème", "Frisch geröstet", "Bio|Fair", "12,50", "EUR", "de-DE", "cup.png", "northwind"],
       ["B-2", "Tea", "Green tea", "", "3.10", "USD", "en-US", "", "sakura"]]


def write(tmp_path: Path, rows: list[list[str]], *, encoding: str, delimiter: str) -> Path:
    """Write rows as a spreadsheet would export them (csv quoting where a cell holds the delimiter)."""
    shutil.copy(IMAGES / "matcha-can.png", tmp_path / "cup.png")
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    path = tmp_path / "products.csv"
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


@pytest.mark.parametrize("encoding, delimiter", [
    ("utf-8", ","), ("utf-8-sig", ","), ("utf-16", "\t"), ("utf-16", ","), ("utf-8-sig", ";"),
    ("utf-8", "\t"), ("cp1252", ";"),
])
def test_own_schema_in_every_encoding_and_delimiter(tmp_path, encoding, delimiter):
    catalogue = read_catalogue(write(tmp_path, OWN, encoding=encoding, delimiter=delimiter))
    assert catalogue.dialect == "adgen" and catalogue.delimiter == delimiter
    first, second = catalogue.rows
    assert (first.row, first.error, second.row, second.error) == (2, "", 3, "")
    assert first.spec.name == "Kaffee Crème" and first.spec.features == ("Bio", "Fair")
    assert first.spec.price == Decimal("12.50") and first.spec.currency == "EUR"
    assert first.spec.product_image == (tmp_path / "cup.png").resolve() and first.brand == "northwind"
    assert second.spec.features == () and second.spec.product_image is None


def test_shopify_export_folds_variant_rows_and_strips_html():
    catalogue = read_catalogue(EXAMPLES / "shopify-products.csv")
    assert catalogue.dialect == "shopify"
    assert [(r.row, r.sku) for r in catalogue.rows] == [(2, "NW-CB-250"), (4, "NW-TF-002")]
    cold_brew = catalogue.rows[0].spec
    assert cold_brew.name == cold_brew.headline == "Northwind Cold Brew"  # no headline column: the title
    assert cold_brew.subhead == "Slow-steeped for 18 hours."               # first sentence, tags gone
    assert cold_brew.price == Decimal("14.99") and cold_brew.category == "coffee"
    assert catalogue.rows[0].brand == "Northwind" and cold_brew.product_image.name == "cold-brew-bag.png"


def test_shopify_product_without_image_takes_its_variant_rows_image(tmp_path):
    shutil.copy(IMAGES / "mug-photo.jpg", tmp_path / "mug.jpg")
    text = ("Handle,Title,Body (HTML),Vendor,Variant SKU,Variant Price,Image Src\n"
            "mug,Mug,<p>A mug &amp; more</p>,Northwind,,9.00,\n"
            "mug,,,,,,mug.jpg\n"
            "orphan,,,,,,mug.jpg\n")
    (tmp_path / "s.csv").write_text(text)
    mug, orphan = read_catalogue(tmp_path / "s.csv").rows
    assert mug.spec.sku == "mug" and mug.spec.product_image.name == "mug.jpg"  # Handle when no SKU
    assert mug.spec.subhead == "A mug & more"
    assert orphan.spec is None and "row 4" in orphan.error and "'orphan'" in orphan.error


def test_merchant_feed_tab_delimited_with_currency_in_price_and_g_prefix(tmp_path):
    text = ("g:id\tg:title\tg:description\tg:price\tg:brand\tg:image_link\tg:product_type\n"
            "SK-1\tJasmine\t<b>Fragrant</b> tea. Twenty sachets.\t1,299.00 JPY\tSakura\t\tFood > Tea\n")
    (tmp_path / "feed.txt").write_text(text)
    catalogue = read_catalogue(tmp_path / "feed.txt")
    spec = catalogue.rows[0].spec
    assert catalogue.dialect == "merchant" and catalogue.delimiter == "\t"
    assert (spec.sku, spec.headline, spec.subhead) == ("SK-1", "Jasmine", "Fragrant tea.")
    assert (spec.price, spec.currency, spec.category) == (Decimal("1299.00"), "JPY", "tea")


def test_merchant_example_leaves_urls_unfetched_and_says_so():
    rows = read_catalogue(EXAMPLES / "merchant-feed.csv").rows
    assert rows[0].spec.product_image.name == "jasmine-tin.png" and rows[0].note == ""
    assert rows[1].spec.product_image is None and "--fetch-images" in rows[1].note


def test_map_overrides_detected_columns(tmp_path):
    text = "Artikel,Titel,Slogan,Preis\nX-1,Kanne,Heiß bleibt heiß,30\n"
    (tmp_path / "de.csv").write_text(text, encoding="utf-8")
    mapping = parse_mapping(["Artikel=sku", "Titel=name", "Slogan=headline", "Preis=price"])
    spec = read_catalogue(tmp_path / "de.csv", mapping=mapping).rows[0].spec
    assert (spec.sku, spec.name, spec.headline, spec.price) == ("X-1", "Kanne", "Heiß bleibt heiß", Decimal(30))
    with pytest.raises(InputError, match="unknown field"):
        parse_mapping(["Titel=title"])
    with pytest.raises(InputError, match="does not have"):
        read_catalogue(tmp_path / "de.csv", mapping={"sku": "Nope"})


def test_bad_rows_name_row_field_column_and_value_and_the_rest_go_on(tmp_path):
    text = ("Handle,Title,Variant SKU,Variant Price,Vendor\n"
            "a,Alpha,A-1,1.00,Northwind\n"
            "b,Beta,B 2,2.00,Northwind\n"       # space: not a valid sku
            "c,Gamma,C-3,cheap,Northwind\n"
            ",,,,\n"                            # a blank row still counts as a row
            "d,Delta,D-4,4.00,Northwind\n"
            "e,Alpha again,A-1,5.00,Northwind\n")
    (tmp_path / "bad.csv").write_text(text)
    rows = read_catalogue(tmp_path / "bad.csv").rows
    assert [r.error == "" for r in rows] == [True, False, False, True, False]
    assert rows[1].error.startswith("row 3, field 'sku', column 'variant sku':") and "'B 2'" in rows[1].error
    assert rows[2].error.startswith("row 4, field 'price', column 'variant price':") and "'cheap'" in rows[2].error
    assert rows[2].sku == "C-3"
    assert rows[3].row == 6
    assert rows[4].error == "row 7, field 'sku': duplicate sku, first at row 2 (got 'A-1')"


@pytest.mark.parametrize("content, exc, message", [
    (None, NotFoundError, "not found"),
    (b"", InputError, "empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4, InputError, "not"),
    (b"colour,size,weight\nred,1,2\n", InputError, "no recognisable header"),
])
def test_unusable_files_raise(tmp_path, content, exc, message):
    path = tmp_path / "x.csv"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(exc, match=message):
        read_catalogue(path)
    assert issubclass(exc, AdgenError)


def test_missing_and_broken_local_images_become_notes(tmp_path):
    (tmp_path / "broken.png").write_bytes(b"\x89PNG not really")
    text = "sku,name,product_image\nA-1,Alpha,missing.png\nB-2,Beta,broken.png\nC-3,Gamma,file:///etc/passwd\n"
    (tmp_path / "p.csv").write_text(text)
    rows = read_catalogue(tmp_path / "p.csv").rows
    assert all(r.spec is not None and r.spec.product_image is None for r in rows)
    assert "not found" in rows[0].note and "corrupt" in rows[1].note and "only http and https" in rows[2].note


@pytest.fixture
def image_server(tmp_path):
    """A real http.server on 127.0.0.1 serving a folder: a photo, a non-image, an oversized file."""
    root = tmp_path / "www"
    root.mkdir()
    shutil.copy(IMAGES / "matcha-can.png", root / "can.png")
    (root / "page.html").write_text("<html>not an image</html>")
    with open(root / "huge.png", "wb") as handle:
        handle.truncate(MAX_IMAGE_BYTES + 10)
    handler = partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_fetch_images_over_http_with_limits(tmp_path, image_server, monkeypatch):
    monkeypatch.setenv("ADGEN_FETCH_ALLOW", "127.0.0.1")  # the test's server is on loopback
    text = ("sku,name,product_image\n"
            f"A-1,Alpha,{image_server}/can.png\nB-2,Beta,{image_server}/page.html\n"
            f"C-3,Gamma,{image_server}/huge.png\nD-4,Delta,{image_server}/gone.png\n")
    (tmp_path / "p.csv").write_text(text)
    unfetched = read_catalogue(tmp_path / "p.csv").rows
    assert all(r.spec.product_image is None and "--fetch-images" in r.note for r in unfetched)
    cache = tmp_path / "cache"
    rows = read_catalogue(tmp_path / "p.csv", fetch_images=True, image_cache=cache).rows
    fetched = rows[0].spec.product_image
    assert fetched.parent == cache and fetched.read_bytes() == (IMAGES / "matcha-can.png").read_bytes()
    assert rows[0].note == ""
    assert "not a PNG, JPEG or WebP" in rows[1].note and "over" in rows[2].note and "HTTP 404" in rows[3].note
    assert all(r.spec.product_image is None for r in rows[1:])


def test_utf16_excel_export_example_round_trip(tmp_path):
    """Excel's 'Unicode text' is UTF-16 LE with a BOM and tabs."""
    source = (EXAMPLES / "products.csv").read_text(encoding="utf-8").replace(",", "\t")
    path = tmp_path / "excel.txt"
    path.write_bytes(codecs.BOM_UTF16_LE + source.encode("utf-16-le"))
    catalogue = read_catalogue(path)
    assert catalogue.encoding == "utf-16" and [r.error for r in catalogue.rows] == ["", "", ""]
