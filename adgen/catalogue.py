"""Catalogue CSVs: our own schema, Shopify product exports and Google Merchant feeds, as product specs.

read_catalogue() never raises for a bad row: the row comes back with its error and the others go
on. It raises (InputError / NotFoundError, exit 2) only when the file itself is unusable.
Row numbers are spreadsheet rows: the header is row 1, the first product row 2.
"""

from __future__ import annotations

import codecs
import csv
import html
import io
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from adgen.catalogue_images import resolve_image
from adgen.errors import InputError, NotFoundError
from adgen.loading import validate
from adgen.settings import adgen_home
from adgen.spec import ProductSpec

LIST_SEPARATOR = "|"  # features, claims and marks in one cell; ',' and ';' are CSV delimiters
LIST_FIELDS = ("features", "claims", "marks")
TARGET_FIELDS = (*ProductSpec.model_fields, "brand")
SUMMARY_CHARS = 140  # a feed's description becomes the subhead: its first sentence, about one line

# Each dialect maps spec fields to header names (lower case, "g:" prefix dropped).
DIALECTS: dict[str, dict[str, str]] = {
    "adgen": {name: name for name in TARGET_FIELDS},
    "shopify": {"sku": "variant sku", "name": "title", "subhead": "body (html)", "price": "variant price",
                "category": "type", "product_image": "image src", "brand": "vendor"},
    "merchant": {"sku": "id", "name": "title", "subhead": "description", "price": "price",
                 "category": "product_type", "product_image": "image_link", "brand": "brand"},
}


@dataclass(frozen=True)
class CatalogueRow:
    """One product of the catalogue: a spec, or the reason there is none."""

    row: int                        # spreadsheet row of the product (header = 1)
    sku: str                        # the row's sku as written, even when the row is bad
    spec: ProductSpec | None
    brand: str | None = None        # brand named by the row (a kit id or name), if any
    error: str = ""                 # why the row cannot be made (status error in the manifest)
    note: str = ""                  # made, with a caveat (e.g. its image was unavailable)


@dataclass(frozen=True)
class Catalogue:
    path: Path
    dialect: str
    encoding: str
    delimiter: str
    rows: tuple[CatalogueRow, ...] = field(default_factory=tuple)


def read_catalogue(path: Path, *, mapping: dict[str, str] | None = None, fetch_images: bool = False,
                   image_cache: Path | None = None) -> Catalogue:
    """Read a catalogue CSV: detect encoding, delimiter and dialect; one CatalogueRow per product."""
    text, encoding = _decode(path)
    delimiter = _delimiter(text)
    # Spreadsheet row numbers (a quoted cell may span lines; blank rows still count).
    records = [(number, record) for number, record in
               enumerate(csv.reader(io.StringIO(text), delimiter=delimiter), start=1)
               if any(cell.strip() for cell in record)]
    if not records:
        raise InputError("the file is empty: no header row", file=str(path))
    header = records[0][1]
    dialect, columns = _columns(header, mapping or {}, path)
    keys = [_key(name) for name in header]
    products = _shopify_products(records[1:], keys) if dialect == "shopify" else \
        [(number, dict(zip(keys, record)), None) for number, record in records[1:]]
    context = _RowContext(path, dialect, columns, fetch_images, image_cache or adgen_home() / "images")
    rows = _without_duplicate_skus([_row(number, cells, problem, context) for number, cells, problem in products])
    return Catalogue(path, dialect, encoding, delimiter, rows)


def parse_mapping(pairs: list[str]) -> dict[str, str]:
    """`--map column=field` options to {field: column}; an unknown field is an InputError."""
    mapping = {}
    for pair in pairs:
        column, sep, target = pair.partition("=")
        if not sep or not column.strip() or not target.strip():
            raise InputError("--map takes column=field", field="--map", value=pair)
        if target.strip() not in TARGET_FIELDS:
            raise InputError(f"unknown field; one of {', '.join(TARGET_FIELDS)}", field="--map", value=pair)
        mapping[target.strip()] = column.strip()
    return mapping


# -- the file ---------------------------------------------------------------------------------

def _decode(path: Path) -> tuple[str, str]:
    """Bytes to text: a BOM decides (UTF-8, UTF-16 from Excel), else UTF-8, else a detected charset."""
    if not path.is_file():
        raise NotFoundError("catalogue file not found", file=str(path))
    data = path.read_bytes()
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                          (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            return _checked(data.decode(encoding, errors="replace"), encoding, path)
    if data[1:200:2].count(0) > 50 or data[0:200:2].count(0) > 50:  # UTF-16 without a BOM
        encoding = "utf-16-le" if data[1:200:2].count(0) > data[0:200:2].count(0) else "utf-16-be"
        return _checked(data.decode(encoding, errors="replace"), encoding, path)
    try:
        return _checked(data.decode("utf-8"), "utf-8", path)
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    candidates = [match.encoding for match in from_bytes(data[:1 << 20])]
    if not candidates:
        raise InputError("not a text file: no character encoding fits (is it a spreadsheet or an image?)",
                         file=str(path))
    # A short legacy file fits several single-byte code pages equally well; Excel on Western
    # Windows writes cp1252, so it wins whenever it fits at all.
    if "cp1252" in candidates or (candidates[0].startswith(("cp125", "latin", "iso8859")) and _fits_cp1252(data)):
        return _checked(data.decode("cp1252"), "cp1252", path)
    return _checked(data.decode(candidates[0], errors="replace"), candidates[0], path)


def _fits_cp1252(data: bytes) -> bool:
    try:
        data.decode("cp1252")
    except UnicodeDecodeError:
        return False
    return True


def _checked(text: str, encoding: str, path: Path) -> tuple[str, str]:
    if "\x00" in text or sum(ch < " " and ch not in "\t\r\n" for ch in text[:4096]) > 8:
        raise InputError("not a CSV file: it holds binary data", file=str(path), value=encoding)
    return text, encoding


def _delimiter(text: str) -> str:
    """Comma, semicolon (European Excel) or tab (Merchant feeds): whichever the header line uses most."""
    header = text.lstrip("\ufeff").splitlines()[0] if text.strip() else ""
    try:
        return csv.Sniffer().sniff(header, delimiters=",;\t").delimiter
    except csv.Error:
        counts = {d: header.count(d) for d in (",", ";", "\t")}
        return max(counts, key=counts.get)


def _key(header_name: str) -> str:
    name = header_name.strip().lstrip("\ufeff").lower()
    return name[2:] if name.startswith("g:") else name


def _columns(header: list[str], mapping: dict[str, str], path: Path) -> tuple[str, dict[str, str]]:
    """Which dialect the header is, and {field: header key}; --map entries override."""
    keys = {_key(name) for name in header}
    if {"handle", "title"} <= keys:
        dialect = "shopify"
    elif {"id", "title"} <= keys and keys & {"image_link", "price", "link", "description"}:
        dialect = "merchant"
    elif "sku" in keys or mapping:
        dialect = "adgen"
    else:
        shown = ", ".join(header[:8]) + (" ..." if len(header) > 8 else "")
        raise InputError("no recognisable header: expected adgen columns (sku, name, headline ...), "
                         "a Shopify product export (Handle, Title ...) or a Google Merchant feed "
                         "(id, title, price ...); or map columns with --map column=field",
                         file=str(path), row=1, value=shown)
    columns = {target: key for target, key in DIALECTS[dialect].items() if key in keys}
    for target, column in mapping.items():
        if _key(column) not in keys:
            raise InputError("--map names a column the header does not have", file=str(path),
                             field="--map", value=column)
        columns[target] = _key(column)
    return dialect, columns


def _shopify_products(records: list[tuple[int, list[str]]], keys: list[str]) -> list[tuple[int, dict, str | None]]:
    """Fold Shopify's extra rows (same Handle, empty Title: variants, more images) into their product."""
    products: list[tuple[int, dict, str | None]] = []
    by_handle: dict[str, dict] = {}
    for number, record in records:
        cells = dict(zip(keys, record))
        handle, title = cells.get("handle", "").strip(), cells.get("title", "").strip()
        if title or not handle:
            by_handle[handle] = cells
            products.append((number, cells, None))
        elif handle in by_handle:
            product = by_handle[handle]
            for column in ("variant sku", "variant price", "image src"):
                if not product.get(column, "").strip() and cells.get(column, "").strip():
                    product[column] = cells[column]
        else:
            products.append((number, cells, f"variant row of Handle {handle!r} comes before its product row"))
    return products


def _without_duplicate_skus(rows: list[CatalogueRow]) -> tuple[CatalogueRow, ...]:
    """A sku names its output folder: a second product with the same sku would overwrite the first."""
    first_row: dict[str, int] = {}
    kept = []
    for entry in rows:
        if entry.spec is not None and entry.sku in first_row:
            entry = CatalogueRow(entry.row, entry.sku, None, entry.brand,
                                 error=f"row {entry.row}, field 'sku': duplicate sku, first at row "
                                       f"{first_row[entry.sku]} (got {entry.sku!r})")
        elif entry.spec is not None:
            first_row[entry.sku] = entry.row
        kept.append(entry)
    return tuple(kept)


# -- one row ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class _RowContext:
    path: Path
    dialect: str
    columns: dict[str, str]
    fetch_images: bool
    image_cache: Path


def _row(number: int, cells: dict[str, str], problem: str | None, ctx: _RowContext) -> CatalogueRow:
    raw = {target: cells.get(key, "").strip() for target, key in ctx.columns.items()}
    raw = {target: value for target, value in raw.items() if value}
    sku = raw.get("sku") or (cells.get("handle", "").strip() if ctx.dialect == "shopify" else "")
    if ctx.dialect == "shopify" and "sku" not in raw and sku:
        raw["sku"] = sku  # products without variant SKUs are known by their Handle
    if problem:
        return CatalogueRow(number, sku, None, error=f"row {number}: {problem}")
    brand = raw.pop("brand", None)
    image_value = raw.pop("product_image", None)
    data = {target: _value(target, value, ctx.dialect) for target, value in raw.items()}
    if "price" in data and isinstance(data["price"], tuple):
        data["price"], currency = data["price"]
        data.setdefault("currency", currency)
    data.setdefault("headline", data.get("name"))  # feeds carry no headline: the title is the best one
    data = {target: value for target, value in data.items() if value not in (None, "", ())}
    try:
        spec = validate(ProductSpec, data, file=None, row=number)
    except InputError as exc:
        return CatalogueRow(number, sku, None, brand, error=_with_column(exc, ctx.columns))
    note = ""
    if image_value:
        image, note = resolve_image(image_value, base=ctx.path.parent, fetch=ctx.fetch_images,
                                    cache=ctx.image_cache)
        if image is not None:
            spec = spec.model_copy(update={"product_image": image})
    return CatalogueRow(number, spec.sku, spec, brand, note=note)


def _value(target: str, value: str, dialect: str):
    if target in LIST_FIELDS:
        return tuple(part.strip() for part in value.split(LIST_SEPARATOR) if part.strip())
    if target == "price":
        return _price(value)
    if target == "category" and dialect != "adgen":
        # Feeds write "Food > Beverages > Coffee" or "Coffee"; disclaimers key on the last, lower case.
        return value.split(">")[-1].strip().lower()
    if dialect != "adgen" or re.search(r"</?[a-zA-Z][^>]*>", value):
        value = _plain_text(value)
    if target == "subhead" and dialect != "adgen":
        return _summary(value)
    return value


def _price(value: str):
    """'12.99', '12,99', '12.99 USD' or 'USD 12.99' -> (amount, currency) or the amount as written."""
    match = re.fullmatch(r"(?:([A-Z]{3})\s*)?([0-9][0-9.,]*)(?:\s*([A-Z]{3}))?", value.strip())
    if not match:
        return value  # left for validation to name as a bad price
    amount = match.group(2)
    if re.fullmatch(r"\d+,\d{1,2}", amount):
        amount = amount.replace(",", ".")  # decimal comma, as semicolon-delimited Excel writes it
    elif "," in amount:
        amount = amount.replace(",", "")   # thousands separators
    currency = match.group(1) or match.group(3)
    return (amount, currency) if currency else amount


def _summary(text: str) -> str:
    """The first sentence, cut at a word under SUMMARY_CHARS."""
    sentence = re.split(r"(?<=[.!?。！？])\s", text, maxsplit=1)[0]
    if len(sentence) <= SUMMARY_CHARS:
        return sentence
    return sentence[:SUMMARY_CHARS].rsplit(" ", 1)[0].rstrip(",;:") + "…"


class _TextOnly(HTMLParser):
    BLOCKS = {"p", "br", "li", "div", "h1", "h2", "h3", "h4", "tr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        self.skip += tag in ("script", "style")
        if tag in self.BLOCKS:
            self.parts.append(" ")

    def handle_endtag(self, tag):
        self.skip -= tag in ("script", "style") and self.skip > 0
        if tag in self.BLOCKS:
            self.parts.append(" ")

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def _plain_text(value: str) -> str:
    """HTML (Shopify's Body (HTML), feed descriptions) to one line of text."""
    parser = _TextOnly()
    parser.feed(value)
    parser.close()
    return " ".join(html.unescape("".join(parser.parts)).split())


def _with_column(exc: InputError, columns: dict[str, str]) -> str:
    """The validation error, naming the CSV column the field came from."""
    field_name = (exc.field or "").split(".")[0]
    column = columns.get(field_name)
    where = [f"row {exc.row}"] + ([f"field '{exc.field}'"] if exc.field else [])
    if column and column != field_name:
        where.append(f"column '{column}'")
    shown = f" (got {exc.value!r})" if exc.value is not None else ""
    return f"{', '.join(where)}: {exc.reason}{shown}"
