"""Product spec: what is being advertised. Validated and frozen; loaded from YAML or JSON."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from adgen.loading import read_mapping, validate

SKU_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
LOCALE_PATTERN = re.compile(r"^[a-z]{2,3}(-[A-Z][a-z]{3})?(-[A-Z]{2})?$")
# A category keys disclaimers, banned terms and marks; feeds write ones like "coffee makers".
CATEGORY_PATTERN = re.compile(r"^\w[\w &'./+-]{0,63}$")
# Caps on what one spec may carry: copy has to fit an ad, and every string is checked by rules.
MAX_FEATURES, FEATURE_CHARS = 20, 200
MAX_CLAIMS, CLAIM_CHARS = 20, 300
MAX_MARKS, MARK_ID_CHARS = 10, 64
MAX_PRICE = Decimal(10**9)
Feature = Annotated[str, StringConstraints(min_length=1, max_length=FEATURE_CHARS)]
Claim = Annotated[str, StringConstraints(min_length=1, max_length=CLAIM_CHARS)]
MarkId = Annotated[str, StringConstraints(min_length=1, max_length=MARK_ID_CHARS)]
LabelLine = Annotated[str, StringConstraints(min_length=1, max_length=2000)]


class NutritionRow(BaseModel):
    """One line of a nutrition table: nutrient, amount per 100 g/ml (or per serving), unit."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    nutrient: str = Field(min_length=1, max_length=60, description="Nutrient, in the spec's language.")
    amount: Decimal = Field(ge=0, le=100000, allow_inf_nan=False, description="Amount per basis.")
    unit: str = Field("g", max_length=8, description="Unit: g, mg, kcal, kJ, ...")


class PackLabel(BaseModel):
    """What the back and side panels of a pack carry, typeset by `adgen pack`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ingredients: LabelLine | None = Field(None, description="Ingredients list, as printed.")
    nutrition: tuple[NutritionRow, ...] = Field((), max_length=20, description="Nutrition table rows.")
    nutrition_basis: str = Field("100 g", max_length=30, description="What the amounts are per, e.g. 100 g.")
    usage: LabelLine | None = Field(None, description="Directions for use / preparation.")
    net_quantity: str | None = Field(None, max_length=30, description="Net quantity, e.g. 250 g.")
    address: LabelLine | None = Field(None, description="Name and address of the responsible business.")
    qr_url: str | None = Field(None, max_length=512, pattern=r"^https://[!-~]+$",
                               description="An https URL printed as a QR code on the side panel.")


class ProductSpec(BaseModel):
    """One product to advertise."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sku: str = Field(description="Stock-keeping unit; names the output folder (letters, digits, . _ -).")
    name: str = Field(min_length=1, max_length=200, description="Product name.")
    headline: str = Field(min_length=1, max_length=200, description="Main line of copy.")
    subhead: str | None = Field(None, max_length=300, description="Secondary line of copy.")
    features: tuple[Feature, ...] = Field((), max_length=MAX_FEATURES, description=(
        f"Short feature bullets: at most {MAX_FEATURES}, each at most {FEATURE_CHARS} characters."))
    price: Decimal | None = Field(None, ge=0, le=MAX_PRICE, allow_inf_nan=False, description=(
        f"Price as a number, e.g. 12.99: 0 to {MAX_PRICE:,}, with no more decimals than the currency "
        "has (none for JPY)."))
    currency: str = Field("USD", description="ISO 4217 currency code, e.g. USD, JPY, CNY.")
    cta: str | None = Field(None, max_length=60, description="Call to action, e.g. 'Shop now'.")
    category: str = Field("general", max_length=64, description=(
        "Product category; selects disclaimers and banned terms. At most 64 letters, digits, spaces "
        "or & ' . / + - _, starting with a letter or digit."))
    locale: str = Field("en-US", description="BCP 47 locale of the copy, e.g. en-US, ja-JP, zh-CN.")
    product_image: Path | None = Field(None, description="Local path of a transparent PNG cut-out or a photo.")
    claims: tuple[Claim, ...] = Field((), max_length=MAX_CLAIMS, description=(
        f"Marketing claims; checked against banned terms. At most {MAX_CLAIMS}, each at most {CLAIM_CHARS} "
        "characters."))
    marks: tuple[MarkId, ...] = Field((), max_length=MAX_MARKS, description=(
        f"Certification mark ids to place (`adgen marks`), at most {MAX_MARKS}."))
    scene: str | None = Field(None, max_length=300, description="Free prompt hint for the background scene.")
    gtin: str | None = Field(None, description=(
        "GS1 GTIN printed as the pack's barcode: 8, 12 (UPC-A), 13 (EAN-13) or 14 (ITF-14) digits, "
        "check digit included and verified."))
    label: PackLabel | None = Field(None, description="Back/side panel text for `adgen pack`.")

    @field_validator("gtin")
    @classmethod
    def _gtin_check_digit(cls, value: str | None) -> str | None:
        from adgen.barcodes import validate_gtin
        from adgen.errors import InputError

        if value is None:
            return value
        try:
            return validate_gtin(value)
        except InputError as exc:  # a ValueError here becomes the InputError naming field and value
            raise ValueError(exc.reason) from None

    @field_validator("sku")
    @classmethod
    def _sku_is_path_safe(cls, value: str) -> str:
        if not SKU_PATTERN.fullmatch(value):  # fullmatch: `$` alone lets a trailing newline through
            raise ValueError("sku must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
        return value

    @field_validator("category")
    @classmethod
    def _category_is_a_name(cls, value: str) -> str:
        if not CATEGORY_PATTERN.fullmatch(value):
            raise ValueError("category must be 1-64 letters, digits, spaces or & ' . / + - _, "
                             "starting with a letter or digit")
        return value

    @field_validator("currency")
    @classmethod
    def _currency_is_iso(cls, value: str) -> str:
        from babel.numbers import is_currency

        if not re.fullmatch(r"[A-Z]{3}", value) or not is_currency(value):
            raise ValueError("currency must be an ISO 4217 code such as USD, EUR or JPY")
        return value

    @field_validator("locale")
    @classmethod
    def _locale_is_bcp47(cls, value: str) -> str:
        from babel import Locale, UnknownLocaleError

        if not LOCALE_PATTERN.fullmatch(value):
            raise ValueError("locale must look like en-US, ja-JP or zh-CN")
        try:
            Locale.parse(value, sep="-")  # prices are formatted in it (CLDR data via babel)
        except (UnknownLocaleError, ValueError):
            raise ValueError("locale is not one CLDR knows, so prices cannot be written in it") from None
        return value

    @model_validator(mode="after")
    def _price_fits_its_currency(self) -> "ProductSpec":
        """No more decimals than the currency's minor units, and it formats as the layout writes it."""
        from babel.numbers import format_currency, get_currency_precision

        if self.price is None:
            return self
        places = get_currency_precision(self.currency)
        problem = None
        if max(0, -self.price.normalize().as_tuple().exponent) > places:
            problem = f"{self.currency} prices have {places or 'no'} decimal places"
        else:
            try:
                format_currency(self.price, self.currency, locale=self.locale.replace("-", "_"))
            except (ArithmeticError, ValueError) as exc:
                problem = f"price cannot be written in {self.locale} ({type(exc).__name__})"
        if problem:  # a ValidationError names the field: a ValueError here would name the whole spec
            raise ValidationError.from_exception_data(type(self).__name__, [InitErrorDetails(
                type=PydanticCustomError("price", problem), loc=("price",), input=self.price)])
        return self

    @property
    def copy_strings(self) -> dict[str, str]:
        """Every string of copy the spec supplies, by field."""
        fields = {"headline": self.headline, "subhead": self.subhead, "cta": self.cta}
        fields.update({f"claims.{i}": claim for i, claim in enumerate(self.claims)})
        fields.update({f"features.{i}": feature for i, feature in enumerate(self.features)})
        return {key: value for key, value in fields.items() if value}


def load_product(path: Path) -> ProductSpec:
    """Read a product spec file; a relative product_image is taken relative to the file."""
    data = read_mapping(path, "product spec")
    image = data.get("product_image")
    if isinstance(image, str) and image and not Path(image).is_absolute():
        data = {**data, "product_image": str((path.parent / image).resolve())}
    return validate(ProductSpec, data, file=str(path))
