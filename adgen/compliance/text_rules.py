"""Text rules measured on the final pixels: contrast, overflow, minimum size, the visible AI label."""

from __future__ import annotations

import numpy as np
from PIL import Image

from adgen.color import Color, relative_luminance
from adgen.compliance.report import Finding
from adgen.compliance.subject import CheckSubject
from adgen.geometry import Size, grow_square

# Thresholds (WCAG 4.5:1 / 3:1, the 9 px floor) live in adgen/data/thresholds.yaml.
BACKGROUND_PERCENTILE = 5   # worst case of the background around glyphs, not the mean
RING_INNER_PX, RING_OUTER_PX = 1, 3


def contrast(subject: CheckSubject) -> list[Finding]:
    """text.contrast: WCAG ratio of each placed text against the real pixels around its glyphs."""
    layers = _text_layers(subject)
    if layers is None:
        return [Finding("text.contrast", "skip", "error", "no text layers: image was not laid out by adgen")]
    findings = []
    for layer in layers:
        ratio = measure_contrast(subject.image, layer.box, layer.glyph_mask, layer.color)
        threshold = contrast_needed(subject, layer)
        if ratio is None:
            findings.append(Finding("text.contrast", "skip", "error", "no glyph pixels to measure",
                                    element=layer.name, box=layer.box))
            continue
        ok = ratio >= threshold
        findings.append(Finding("text.contrast", "pass" if ok else "fail", "error",
                                f"contrast {ratio:.2f}:1 (needs {threshold}:1)", measured=round(ratio, 3),
                                threshold=threshold, element=layer.name, box=layer.box))
    return findings


def contrast_needed(subject: CheckSubject, layer) -> float:
    """WCAG 2.x minimum for this layer: large text (>= 24 px, or >= 18.66 px bold) needs less."""
    return subject.threshold("text.contrast.large" if layer.is_large_text else "text.contrast.normal")


def measure_contrast(image: Image.Image, box, glyph_mask: Image.Image | None,
                     text_color: str | None = None) -> float | None:
    """Ratio of the glyph colour against the 5th-percentile-worst background pixel around the glyphs.

    The background is the ring 2-3 px out from the glyph cores, inside the ink box: what the
    reader sees between and around the letters (on the scrim, when there is one), skipping
    the anti-aliased fringe.
    """
    if glyph_mask is None or box.area == 0:
        return None
    margin = RING_OUTER_PX
    outer = box.expand(margin).clamp_to(Size(*image.size))
    crop = np.asarray(image.crop(outer.as_tuple()).convert("RGB"), dtype=np.float64)
    mask = Image.new("L", (outer.width, outer.height), 0)
    mask.paste(glyph_mask, (box.left - outer.left, box.top - outer.top))
    coverage = np.asarray(mask)
    glyph = coverage > 0
    near, far = grow_square(glyph, RING_INNER_PX), grow_square(glyph, RING_OUTER_PX)
    inside = np.zeros_like(glyph)
    inside[box.top - outer.top:box.bottom - outer.top, box.left - outer.left:box.right - outer.left] = True
    ring = far & ~near & inside
    if not glyph.any() or not ring.any():
        return None
    # The colour the text was set in: small glyphs are mostly anti-aliased fringe, so their
    # pixels under-state it. Images adgen did not lay out fall back to the fully covered pixels.
    core = coverage >= 230
    if text_color is not None:
        text_lum = Color.from_hex(text_color).relative_luminance
    else:
        text_lum = relative_luminance(tuple(np.median(crop[core if core.any() else glyph], axis=0)))
    lum = _luminance_array(crop[ring])
    ratios = (np.maximum(lum, text_lum) + 0.05) / (np.minimum(lum, text_lum) + 0.05)
    return float(np.percentile(ratios, BACKGROUND_PERCENTILE))


def overflow(subject: CheckSubject) -> list[Finding]:
    """text.overflow: copy that could not fit its slot at the minimum size is reported, never cut."""
    layers = _text_layers(subject)
    if layers is None or subject.layers_from_ocr:
        return [Finding("text.overflow", "skip", "error", "no text layers: image was not laid out by adgen")]
    return [Finding("text.overflow", "fail" if layer.overflow else "pass", "error",
                    f"{layer.name} does not fit its slot at {layer.font_size_px}px in {len(layer.lines)} lines"
                    if layer.overflow else "fits its slot",
                    measured=len(layer.lines), element=layer.name, box=layer.slot_box)
            for layer in layers] or [Finding("text.overflow", "pass", "error", "no text placed")]


def min_size(subject: CheckSubject) -> list[Finding]:
    """text.min-size: no placed text below the readable floor."""
    layers = _text_layers(subject)
    if layers is None:
        return [Finding("text.min-size", "skip", "warning", "no text layers: image was not laid out by adgen")]
    floor = subject.threshold("text.min-size.px")
    estimated = " (estimated from OCR)" if subject.layers_from_ocr else ""
    return [Finding("text.min-size", "pass" if layer.font_size_px >= floor else "fail", "error",
                    f"{layer.font_size_px}px{estimated}", measured=layer.font_size_px, threshold=floor,
                    element=layer.name, box=layer.box)
            for layer in layers]


def ai_label_visible(subject: CheckSubject) -> list[Finding]:
    """label.ai-visible: a legible AI label, large enough for the locale, with contrast."""
    if subject.format.marketplace:
        return [Finding("label.ai-visible", "skip", "error",
                        "marketplace main images allow no overlays; the metadata label carries it")]
    if subject.composition is None:
        return [Finding("label.ai-visible", "skip", "error", "no layers: needs OCR to find a label")]
    label = subject.composition.layer("ai_label")
    if label is None:
        found = "no AI label found by OCR" if subject.layers_from_ocr else "no AI label placed"
        return [Finding("label.ai-visible", "fail", "error", found)]
    from adgen.layout import AI_LABEL_FLOOR_PX, AI_LABEL_MIN_HEIGHT, AI_LABEL_DEFAULT_HEIGHT

    min_px = max(AI_LABEL_FLOOR_PX, round(subject.format.size.shortest_side
                                         * AI_LABEL_MIN_HEIGHT.get(subject.locale, AI_LABEL_DEFAULT_HEIGHT)))
    ratio = measure_contrast(subject.image, label.box, label.glyph_mask, label.color) or 0.0
    needed = contrast_needed(subject, label)
    problems = []
    if label.font_size_px < min_px:
        problems.append(f"text {label.font_size_px}px < {min_px}px")
    if ratio < needed:
        problems.append(f"contrast {ratio:.2f}:1 < {needed}:1")
    if label.overflow:
        problems.append("label does not fit")
    return [Finding("label.ai-visible", "fail" if problems else "pass", "error",
                    "; ".join(problems) or f"'{label.text}' at {label.font_size_px}px, contrast {ratio:.2f}:1",
                    measured={"font_px": label.font_size_px, "contrast": round(ratio, 3)},
                    threshold={"font_px": min_px, "contrast": needed},
                    element="ai_label", box=label.box)]


def _text_layers(subject: CheckSubject):
    if subject.composition is None:
        return None
    return subject.composition.text_layers


def _luminance_array(rgb: np.ndarray) -> np.ndarray:
    c = rgb / 255.0
    linear = np.where(c <= 0.03928, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return linear @ np.array([0.2126, 0.7152, 0.0722])

