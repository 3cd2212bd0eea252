"""Product spec: what is being advertised. Validated and frozen; loaded from YAML or JSON."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from adgen.loading import read_mapping, validate

SKU_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
LOCALE_PATTERN = re.compile(r"^[a-z]{2,3}(-[A-Z][a-z]{3})?(-[A-Z]{2})?$")


class ProductSpec(BaseModel):
    """One product to advertise."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sku: str = Field(description="Stock-keeping unit; names the output folder (letters, digits, . _ -).")
    name: str = Field(min_length=1, max_length=200, description="Product name.")
    headline: str = Field(min_length=1, max_length=200, description="Main line of copy.")
    subhead: str | None = Field(None, max_length=300, description="Secondary line of copy.")
    features: tuple[str, ...] = Field((), description="Short feature bullets.")
    price: Decimal | None = Field(None, ge=0, description="Price as a number, e.g. 12.99.")
    currency: str = Field("USD", description="ISO 4217 currency code, e.g. USD, JPY, CNY.")
    cta: str | None = Field(None, max_length=60, description="Call to action, e.g. 'Shop now'.")
    category: str = Field("general", description="Product category; selects disclaimers and banned terms.")
    locale: str = Field("en-US", description="BCP 47 locale of the copy, e.g. en-US, ja-JP, zh-CN.")
    product_image: Path | None = Field(None, description="Local path of a transparent PNG cut-out or a photo.")
    claims: tuple[str, ...] = Field((), description="Marketing claims; checked against banned terms.")
    marks: tuple[str, ...] = Field((), description="Certification mark ids to place.")
    scene: str | None = Field(None, max_length=300, description="Free prompt hint for the background scene.")

    @field_validator("sku")
    @classmethod
    def _sku_is_path_safe(cls, value: str) -> str:
        if not SKU_PATTERN.match(value):
            raise ValueError("sku must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
        return value

    @field_validator("currency")
    @classmethod
    def _currency_is_iso(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Z]{3}", value):
            raise ValueError("currency must be a 3-letter ISO 4217 code such as USD")
        return value

    @field_validator("locale")
    @classmethod
    def _locale_is_bcp47(cls, value: str) -> str:
        if not LOCALE_PATTERN.match(value):
            raise ValueError("locale must look like en-US, ja-JP or zh-CN")
        return value

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
