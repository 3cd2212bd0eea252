"""A product image as compose places it: a cut-out as given, or a photo cut out once and cached.

A photo without alpha is cut out (adgen.cutout) and the result kept under
ADGEN_HOME/cache/cutouts/<sha256 of the photo's bytes>-v<cut-out version>.png, with its matte's
confidence beside it in a .json; the next asset, batch worker or re-layout of the same photo
reads it back instead of cutting again. Whether the cut-out is used is decided here: at or above
the minimum confidence it is; below it, or when the caller asks for it framed, the photo is
placed framed as before and the record says why.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from PIL import Image

from adgen.settings import adgen_home


@dataclass(frozen=True)
class CutoutRecord:
    """What became of a product photo without alpha; recorded with the asset (recipe, layer)."""

    image_sha256: str
    applied: bool            # the cut-out was placed (else the photo, framed)
    confidence: float
    min_confidence: float
    method: str
    version: int
    reason: str              # the weakest confidence factor, or the caller's choice
    path: str                # the cached RGBA cut-out
    shadow_path: str | None  # the photo's own floor shadow as an opacity layer, when it had one

    def as_dict(self) -> dict:
        return asdict(self)


def product_artwork(path: Path, *, cut_out: bool, min_confidence: float) -> tuple[Image.Image, Path, CutoutRecord | None]:
    """(RGBA pixels to place, the file they are the pixels of, what became of a photo without alpha).

    A source with alpha comes back as it is, with no record.
    """
    from adgen.placement import load_artwork

    artwork = load_artwork(path, "product_image")
    if artwork.getextrema()[3][0] < 255:
        return artwork, path, None
    meta = _cached(path)
    applied = cut_out and meta["confidence"] >= min_confidence
    if not cut_out:
        reason = "cut-out not requested: placed as a framed photo"
    elif applied:
        reason = meta["reason"]
    else:
        reason = f"confidence {meta['confidence']:.2f} < {min_confidence:.2f}: {meta['reason']}"
    record = CutoutRecord(image_sha256=meta["image_sha256"], applied=applied, confidence=meta["confidence"],
                          min_confidence=min_confidence, method=meta["method"], version=meta["version"],
                          reason=reason, path=meta["path"], shadow_path=meta["shadow_path"])
    if not applied:
        return artwork, path, record
    cutout_path = Path(meta["path"])
    return load_artwork(cutout_path, "product_image"), cutout_path, record


def request_product_artwork(request) -> tuple[Image.Image, Path, CutoutRecord | None]:
    """product_artwork() for a resolved request: its image, its cut-out choice, its brand's confidence floor.

    The plan and compose both ask this, so the plate is made around the same pixels compose places.
    """
    from adgen.compliance.thresholds import threshold

    minimum = threshold("product.cutout.min_confidence", format_id=request.format.id, locale=request.product.locale,
                        brand_overrides=request.brand.thresholds)
    # A photo without alpha is cut out (cached by its bytes) unless the cut-out is not confident.
    return product_artwork(request.product.product_image, cut_out=request.cutout, min_confidence=minimum)


def cutout_cache_dir() -> Path:
    return adgen_home() / "cache" / "cutouts"


def _cached(path: Path) -> dict:
    """The cut-out's metadata, cutting the photo out first when the cache has not seen its bytes."""
    from adgen.cutout import CUTOUT_VERSION, cut_out
    from adgen.export import write_atomic
    from adgen.placement import load_artwork

    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    folder = cutout_cache_dir()
    stem = folder / f"{digest}-v{CUTOUT_VERSION}"
    meta_path = stem.with_suffix(".json")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if Path(meta["path"]).is_file():
            return meta
    except (OSError, ValueError, KeyError):
        pass  # not cached yet, or a torn entry: cut again
    result = cut_out(load_artwork(path, "product_image").convert("RGB"))
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(stem.with_suffix(".png"), _png(result.rgba))
    shadow_path = None
    if result.shadow is not None:
        shadow_path = stem.with_name(stem.name + ".shadow.png")
        write_atomic(shadow_path, _png(result.shadow))
    meta = {"image_sha256": digest, "confidence": result.confidence, "method": result.method,
            "version": CUTOUT_VERSION, "reason": result.reason, "path": str(stem.with_suffix(".png")),
            "shadow_path": str(shadow_path) if shadow_path else None, "background": list(result.background)}
    # The metadata goes last: an entry with metadata has its pixels.
    write_atomic(meta_path, json.dumps(meta, indent=1).encode("utf-8"))
    return meta


def _png(image: Image.Image) -> bytes:
    import io

    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()
