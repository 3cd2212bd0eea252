"""Pack route: POST /v1/packs -> the press PDF. Synchronous, under the heavy-work gate; no packaging logic here.

A documented subset of `adgen pack` (docs/packaging.md): the dieline comes as a box description
or as SVG text (never a server path), the product image as base64, and the PDF comes back in
the response. The plate is generated in the request with the service's model, one pack per
tenant at a time (429 while yours runs), like /v1/check.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from adgen.service.auth import KeyDep
from adgen.service.bodies import EXAMPLE_PRODUCT, JobProduct
from adgen.service.core import ERRORS, ServiceDep, require_brand
from adgen.service.cost import Busy
from adgen.service.inputs import fetch_product_images, store_uploaded_image
from adgen.service.routes_jobs import busy_error

router = APIRouter(tags=["packs"])
MAX_SVG_CHARS = 2_000_000


class PackCreate(BaseModel):
    """One pack: a product on a box described by its sizes, or on an SVG dieline sent as text."""

    model_config = ConfigDict(frozen=True, extra="forbid", json_schema_extra={"examples": [{
        "product": {**EXAMPLE_PRODUCT, "gtin": "081234567897"}, "brand": "northwind", "box": "tuck:70x30x120"}]})

    product: JobProduct = Field(description="The product spec (its gtin becomes the barcode, label the back panel).")
    brand: str = Field(max_length=64, description="Brand kit id; the API key must be scoped to it.")
    box: str | None = Field(None, max_length=64, pattern=r"^[a-z]+:[0-9.x]+$",
                            description="A box by its sizes in mm: tuck:WxDxH, rsc:WxDxH, pouch:WxH, label:WxH.")
    dieline_svg: str | None = Field(None, max_length=MAX_SVG_CHARS, description=(
        "An SVG dieline as text, layers cut, crease, bleed and panels (docs/packaging.md). Give box or dieline_svg."))
    seed: int = Field(0, ge=0, lt=2**31, description="Base seed for the plate.")
    magnification: float = Field(1.0, ge=0.4, le=2.0, description="Barcode size, fraction of nominal.")

    @model_validator(mode="after")
    def _one_dieline(self):
        if (self.box is None) == (self.dieline_svg is None):
            raise ValueError("give box or dieline_svg, not both or neither")
        return self


@router.post("/v1/packs", responses={**ERRORS, 200: {
    "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
    "description": "The PDF/X-4 press file; header Adgen-Notes counts the layout notes."}}, response_class=Response)
def create_pack(body: PackCreate, key: KeyDep, service: ServiceDep) -> Response:
    """Lay a product out on a dieline and answer with the press-ready PDF (synchronous; heavy)."""
    from adgen.pack import PackRequest, make_pack
    from adgen.spec import ProductSpec

    require_brand(key, body.brand)
    limits = service.settings.limits
    with tempfile.TemporaryDirectory(prefix="adgen-pack-") as tmp:
        work = Path(tmp)
        try:
            with service.heavy.hold(key.tenant):
                # An uploaded image or a product_image_url, fetched as jobs fetch it (adgen.netfetch's hostile-URL rules).
                [fields] = fetch_product_images([store_uploaded_image(body.product, 0, work, limits)], work,
                                                service.fetch_policy(), field="product")
                product = ProductSpec.model_validate(fields)
                source = body.box
                if body.dieline_svg is not None:
                    source = str(work / "dieline.svg")
                    Path(source).write_text(body.dieline_svg, encoding="utf-8")
                request = PackRequest(product=product, brand=body.brand, dieline=source, seed=body.seed,
                                      model=service.settings.model, steps=service.settings.steps,
                                      magnification=body.magnification)
                result = make_pack(request, None)
        except Busy as busy:
            raise busy_error(busy) from None
    return Response(result.pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{product.sku}-pack.pdf"',
        "Adgen-Notes": str(len(result.notes))})
