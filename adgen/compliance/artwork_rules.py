"""Protected artwork rules: the logo, certification marks and product are the owner's own pixels.

Each is proved on the final encoded pixels against its source file, re-sampled exactly as
adgen.placement placed it (same scale, LANCZOS), so a diffusion-redrawn or missing logo fails.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from adgen.compliance.report import Finding
from adgen.compliance.subject import CheckSubject
from adgen.geometry import Box, Size

SEARCH_PX = 3      # the match may sit a few px off the recorded box (rounding, JPEG blocks)
OPAQUE = 250       # alpha at or above this is the artwork's own pixels, not an anti-aliased edge


def logo_present(subject: CheckSubject) -> list[Finding]:
    """brand.logo-present: template match of the kit's logo at its placed box, normalised score >= 0.9."""
    if subject.format.marketplace:
        return [Finding("brand.logo-present", "skip", "error", "marketplace main images carry no logo")]
    if not subject.placed:
        return [Finding("brand.logo-present", "skip", "error", "no placed logo: image was not laid out by adgen")]
    layer = subject.composition.layer("logo")
    if layer is None:
        return [Finding("brand.logo-present", "fail", "error", "no logo placed")]
    return [_match_finding(subject, layer, "brand.logo-present")]


def mark_present(subject: CheckSubject) -> list[Finding]:
    """brand.mark-present: each placed certification mark (mark:<id>) matches its source at its box."""
    if not subject.placed:
        return [Finding("brand.mark-present", "skip", "error", "no placed marks: image was not laid out by adgen")]
    marks = [layer for layer in subject.composition.layers if layer.name.startswith("mark:")]
    findings = []
    for layer in marks:
        mark_id = layer.name.split(":", 1)[1]
        if mark_id not in subject.brand.marks:
            findings.append(Finding("brand.mark-present", "fail", "error", f"mark {mark_id!r} is not allowed for this brand",
                                    measured=mark_id, threshold=list(subject.brand.marks), element=layer.name, box=layer.box))
        findings.append(_match_finding(subject, layer, "brand.mark-present"))
    return findings or [Finding("brand.mark-present", "skip", "error", "no certification marks placed")]


def logo_size(subject: CheckSubject) -> list[Finding]:
    """brand.logo-size: the placed logo is at least the kit's logo.min_width_px wide."""
    layer = subject.composition.layer("logo") if subject.placed else None
    if layer is None:
        return [Finding("brand.logo-size", "skip", "error", "no placed logo to measure")]
    minimum = subject.brand.logo.min_width_px
    ok = layer.box.width >= minimum
    return [Finding("brand.logo-size", "pass" if ok else "fail", "error",
                    f"logo {layer.box.width}px wide (kit minimum {minimum}px)", measured=layer.box.width,
                    threshold=minimum, element="logo", box=layer.box)]


def logo_clearspace(subject: CheckSubject) -> list[Finding]:
    """brand.logo-clearspace: no other layer inside the logo box grown by clear_space x logo height."""
    layer = subject.composition.layer("logo") if subject.placed else None
    if layer is None:
        return [Finding("brand.logo-clearspace", "skip", "error", "no placed logo to measure")]
    clear_px = subject.brand.logo.clear_space * layer.box.height
    zone = layer.box.expand(clear_px)
    intruders = [other for other in subject.composition.layers
                 if other.name != "logo" and other.box.area and zone.intersects(other.box)]
    if not intruders:
        return [Finding("brand.logo-clearspace", "pass", "error", f"{clear_px:.0f}px clear around the logo",
                        measured=round(clear_px, 1), threshold=round(clear_px, 1), element="logo", box=zone)]
    return [Finding("brand.logo-clearspace", "fail", "error",
                    f"{other.name} is {_gap(layer.box, other.box)}px from the logo (needs {clear_px:.0f}px)",
                    measured=_gap(layer.box, other.box), threshold=round(clear_px, 1), element=other.name,
                    box=other.box) for other in intruders]


def product_fidelity(subject: CheckSubject) -> list[Finding]:
    """product.fidelity: SSIM of the product region (final pixels) vs the source cut-out, over its opaque alpha."""
    layer = subject.composition.layer("product") if subject.placed else None
    if layer is None or layer.source is None:
        return [Finding("product.fidelity", "skip", "error", "no placed product image to compare")]
    rgb, alpha = placed_artwork(layer)
    actual = np.asarray(subject.final_image.crop(layer.box.as_tuple()), dtype=np.float64)
    # Off the cut-out the expected pixels are the actual ones: SSIM windows that straddle the
    # edge then judge only the artwork, not the scene or shadow behind it.
    a = (alpha / 255.0)[..., None]
    expected = rgb * a + actual * (1 - a)
    minimum = subject.threshold("product.fidelity.min_ssim")
    score = masked_ssim(expected, actual, alpha >= OPAQUE)
    ok = score >= minimum
    return [Finding("product.fidelity", "pass" if ok else "fail", "error",
                    f"product SSIM {score:.4f} against {layer.source.name}", measured=round(score, 4),
                    threshold=minimum, element="product", box=layer.box)]


def product_cutout(subject: CheckSubject) -> list[Finding]:
    """product.cutout: a product photo without alpha went in cut out; framed (not confident enough) warns, saying why."""
    layer = subject.composition.layer("product") if subject.placed else None
    record = layer.cutout if layer is not None else None
    if record is None:
        return [Finding("product.cutout", "skip", "warning", "no product photo without alpha placed")]
    measured, minimum = record["confidence"], record["min_confidence"]
    if record["applied"]:
        return [Finding("product.cutout", "pass", "warning",
                        f"photo cut out ({record['method']}, confidence {measured:.2f}): {record['reason']}",
                        measured=measured, threshold=minimum, element="product", box=layer.box)]
    if measured >= minimum:  # confident, but the caller asked for the photo framed
        return [Finding("product.cutout", "skip", "warning", record["reason"], measured=measured, threshold=minimum,
                        element="product", box=layer.box)]
    return [Finding("product.cutout", "warn", "warning", f"placed framed, not cut out: {record['reason']}",
                    measured=measured, threshold=minimum, element="product", box=layer.box)]


def placed_artwork(layer) -> tuple[np.ndarray, np.ndarray]:
    """The layer's source re-sampled to its box as adgen.placement did: (RGB float, alpha 0-255)."""
    from adgen.placement import PHOTO_FRAME_FRACTION, load_artwork

    art = load_artwork(layer.source, layer.name)
    if art.getextrema()[3][0] == 255:
        # A photo without alpha was placed inside a white frame: the frame is adgen's, not artwork.
        border = max(2, round(min(art.size) * PHOTO_FRAME_FRACTION))
        framed = Image.new("RGBA", (art.width + 2 * border, art.height + 2 * border), (255, 255, 255, 0))
        framed.paste(art, (border, border))
        art = framed
    resized = art.resize((layer.box.width, layer.box.height), Image.Resampling.LANCZOS)
    rgba = np.asarray(resized, dtype=np.float64)
    return rgba[..., :3], rgba[..., 3]


def masked_ssim(expected: np.ndarray, actual: np.ndarray, mask: np.ndarray) -> float:
    """Mean luminance SSIM (Gaussian window, sigma 1.5) over the mask's pixels; 0 when nothing to compare."""
    from skimage.metrics import structural_similarity

    if not mask.any() or expected.shape != actual.shape or min(mask.shape) < 7:
        return 0.0
    luma = np.array([0.299, 0.587, 0.114])
    _, ssim_map = structural_similarity(expected @ luma, actual @ luma, data_range=255.0, gaussian_weights=True,
                                        sigma=1.5, use_sample_covariance=False, full=True)
    return float(ssim_map[mask].mean())


def _match_finding(subject: CheckSubject, layer, rule: str) -> Finding:
    score = match_score(subject, layer)
    minimum = subject.threshold(f"{rule}.min_score")
    ok = score >= minimum
    return Finding(rule, "pass" if ok else "fail", "error",
                   f"template match {score:.3f} against {layer.source.name if layer.source else '?'}",
                   measured=round(score, 4), threshold=minimum, element=layer.name, box=layer.box)


def match_score(subject: CheckSubject, layer) -> float:
    """Best TM_CCOEFF_NORMED within SEARCH_PX of the box: the artwork over the plate vs the final pixels.

    The expected pixels are the source composited over the generated plate, as compose did, so a
    one-colour logo still has the edges that make its shape (its opaque pixels alone have no variance).
    """
    import cv2

    if layer.source is None or layer.box.area == 0:
        return 0.0
    rgb, alpha = placed_artwork(layer)
    under = np.asarray(subject.composition.plate.convert("RGB").crop(layer.box.as_tuple()), dtype=np.float64)
    a = (alpha / 255.0)[..., None]
    template = (rgb * a + under * (1 - a)).astype(np.float32)
    region = layer.box.expand(SEARCH_PX).clamp_to(Size(*subject.final_image.size))
    search = np.asarray(subject.final_image.crop(region.as_tuple()), dtype=np.float32)
    if search.shape[0] < template.shape[0] or search.shape[1] < template.shape[1]:
        return 0.0
    scores = cv2.matchTemplate(search, template, cv2.TM_CCOEFF_NORMED)
    best = float(np.nan_to_num(scores, nan=0.0).max())
    return best


def _gap(a: Box, b: Box) -> int:
    dx = max(b.left - a.right, a.left - b.right, 0)
    dy = max(b.top - a.bottom, a.top - b.bottom, 0)
    return int(max(dx, dy))
