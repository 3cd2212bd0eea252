"""One designer's session in the app: the assets it made, kept so one can be remade or re-laid out.

Every asset comes from pipeline.run() or relayout.relayout(); this module only plans the
requests, remembers the results and bundles the files (images, reports, manifest.csv).
"""

from __future__ import annotations

import tempfile
import time
import typing
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Callable

from pydantic import BaseModel

from adgen.errors import InputError
from adgen.loading import validate
from adgen.pipeline import AssetResult, run
from adgen.request import AssetRequest
from adgen.spec import ProductSpec

AssetKey = tuple[str, int]   # (format id, variant)


@dataclass
class DesignSession:
    """The assets of the latest Generate, by (format, variant), in the order they were made."""

    out_dir: Path
    tenant: str | None = None  # whose knowledge base backs copy.claim-substantiated (None skips it)
    assets: dict[AssetKey, AssetResult] = field(default_factory=dict)
    seconds: dict[AssetKey, float] = field(default_factory=dict)

    def formats(self) -> list[str]:
        return list(dict.fromkeys(format_id for format_id, _ in self.assets))

    def of_format(self, format_id: str) -> list[tuple[AssetKey, AssetResult]]:
        return [(key, result) for key, result in self.assets.items() if key[0] == format_id]


def field_kind(name: str) -> str:
    """How a ProductSpec field is edited in a form: text, lines, number, image or yaml (a nested record)."""
    annotation = ProductSpec.model_fields[name].annotation
    args = typing.get_args(annotation)
    if any(isinstance(a, type) and issubclass(a, BaseModel) for a in (annotation, *args)):
        return "yaml"
    if annotation is Path or Path in args:
        return "image"
    if annotation is Decimal or Decimal in args:
        return "number"
    if typing.get_origin(annotation) is tuple:
        return "lines"
    return "text"


def product_from_form(values: dict[str, object]) -> ProductSpec:
    """A validated ProductSpec from form values: blank is unset, list fields are one item a line."""
    data: dict[str, object] = {}
    for name, value in values.items():
        kind = field_kind(name)
        if kind == "lines":
            value = tuple(line.strip() for line in str(value or "").splitlines() if line.strip())
        elif kind == "yaml" and isinstance(value, str) and value.strip():
            value = _yaml_record(name, value)
        elif isinstance(value, str):
            value = value.strip()
        if value in (None, "", ()):
            continue
        data[name] = value
    return validate(ProductSpec, data, file=None)


def _yaml_record(name: str, text: str) -> dict:
    import yaml

    try:
        record = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"not YAML: {exc}", field=name) from None
    if not isinstance(record, dict):
        raise InputError("must be a YAML mapping (key: value lines)", field=name, value=text[:80])
    return record


def _yaml_text(record: dict) -> str:
    import yaml

    return yaml.safe_dump(record, allow_unicode=True, sort_keys=False)


def form_from_product(product: ProductSpec) -> dict[str, object]:
    """The inverse of product_from_form, for filling the form from an example spec."""
    values = {}
    for name in ProductSpec.model_fields:
        value = getattr(product, name)
        kind = field_kind(name)
        if kind == "lines":
            value = "\n".join(value)
        elif kind == "number":
            value = float(value) if value is not None else None
        elif kind == "yaml":
            value = "" if value is None else _yaml_text(value.model_dump(mode="json", exclude_defaults=True))
        elif kind == "text":
            value = "" if value is None else str(value)
        values[name] = value
    return values


def plan_requests(product: ProductSpec, brand: str, format_ids: list[str], variants: int, seed: int,
                  model: str | None, steps: int | None, *, cutout: bool = True) -> list[AssetRequest]:
    """Every (format, variant) request, validated before any work starts."""
    from adgen.formats import get_format
    from adgen.placement import load_artwork

    if not format_ids:
        raise InputError("choose at least one format", field="formats")
    for format_id in format_ids:
        get_format(format_id)
    if product.product_image is not None:
        load_artwork(product.product_image, "product_image")
    return [AssetRequest(product=product, brand=brand, format=format_id, variant=variant, seed=seed,
                         model=model or None, steps=steps, cutout=cutout)
            for format_id in format_ids for variant in range(1, variants + 1)]


def generate_all(requests: list[AssetRequest], progress: Callable[[int, int, str], None], *,
                 tenant: str | None = None) -> DesignSession:
    """run() each request into a fresh output folder; progress(done, total, label) before each.
    tenant: whose brand knowledge base the claims are checked against (adgen.ui.tenant_for)."""
    from adgen.brand import load_brand

    session = DesignSession(out_dir=Path(tempfile.mkdtemp(prefix="adgen-ui-")), tenant=tenant)
    kits = {}
    for index, request in enumerate(requests):
        progress(index, len(requests), f"{request.format} v{request.variant}")
        kit = kits.setdefault(request.brand, load_brand(request.brand))
        _keep(session, (request.format, request.variant), lambda: run(request, session.out_dir, brand=kit,
                                                                        tenant=session.tenant))
    progress(len(requests), len(requests), "done")
    return session


def regenerate(session: DesignSession, key: AssetKey, seed: int) -> AssetResult:
    """Remake one asset with a new base seed; everything else as it was resolved."""
    old = session.assets[key].request
    request = AssetRequest(product=old.product, brand=old.brand.id, format=old.format.id, variant=old.variant,
                           seed=seed, model=old.model, steps=old.steps, guidance=old.guidance,
                           file_type=old.file_type, use_adapter=old.adapter_path is not None, cutout=old.cutout)
    return _keep(session, key, lambda: run(request, session.out_dir, brand=old.brand, tenant=session.tenant))


def relayout_all(session: DesignSession, product: ProductSpec) -> None:
    """Every asset of the session with the edited copy on its existing plate."""
    from adgen.relayout import relayout

    if session.assets and product.sku != next(iter(session.assets.values())).request.product.sku:
        raise InputError("the sku names the assets; generate again for another product", field="sku",
                         value=product.sku)
    for key, result in list(session.assets.items()):
        _keep(session, key, lambda result=result: relayout(result, product, session.out_dir,
                                                                        tenant=session.tenant))


def write_bundle(session: DesignSession) -> Path:
    """manifest.csv beside the assets, then one zip of images, reports and manifest."""
    from adgen.manifest import ManifestRow, write_manifest

    rows = [ManifestRow(row=index, sku=result.request.product.sku, format=key[0], variant=key[1], status="ok",
                        verdict=result.verdict, path=str(result.files.image.relative_to(session.out_dir)),
                        report=str(result.files.report.relative_to(session.out_dir)))
            for index, (key, result) in enumerate(session.assets.items(), start=1)]
    write_manifest(rows, session.out_dir)
    bundle = session.out_dir.with_name(session.out_dir.name + ".zip")
    with zipfile.ZipFile(bundle, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(session.out_dir.rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                archive.write(path, path.relative_to(session.out_dir).as_posix())
    return bundle


def summary(session: DesignSession) -> list[dict]:
    """One plain record per asset, for the API and the summary table."""
    return [{"sku": result.request.product.sku, "format": key[0], "variant": key[1], "verdict": result.verdict,
             "seed": result.request.seed, "base_seed": result.request.base_seed,
             "failed_rules": sorted({f.rule for f in result.report.findings if f.status == "fail"}),
             "warned_rules": sorted({f.rule for f in result.report.findings if f.status == "warn"}),
             "image": str(result.files.image.relative_to(session.out_dir)) if result.files else None,
             "seconds": round(session.seconds.get(key, 0.0), 2)}
            for key, result in session.assets.items()]


def _keep(session: DesignSession, key: AssetKey, make: Callable[[], AssetResult]) -> AssetResult:
    start = time.perf_counter()
    result = make()
    session.assets[key] = result
    session.seconds[key] = time.perf_counter() - start
    return result
