"""Text rules measured on the final pixels: contrast, overflow, minimum size, the visible AI label."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter

from adgen.color import contrast_ratio, relative_luminance
from adgen.compliance.report import Finding
from adgen.compliance.subject import CheckSubject

CONTRAST_NORMAL = 4.5   # WCAG 2.x SC 1.4.3 (AA), normal text
CONTRAST_LARGE = 3.0    # large text: >= 18 pt (24 px) regular or >= 14 pt (18.66 px) bold
BACKGROUND_PERCENTILE = 5   # worst case of the background around glyphs, not the mean
MIN_TEXT_PX = 9          # below this, copy is unreadable on any screen


def contrast(subject: CheckSubject) -> list[Finding]:
    """text.contrast: WCAG ratio of each placed text against the real pixels around its glyphs."""
    layers = _text_layers(subject)
    if layers is None:
        return [Finding("text.contrast", "skip", "error", "no text layers: image was not laid out by adgen")]
    findings = []
    for layer in layers:
        ratio = measure_contrast(subject.image, layer.box, layer.glyph_mask)
        threshold = CONTRAST_LARGE if layer.is_large_text else CONTRAST_NORMAL
        if ratio is None:
            findings.append(Finding("text.contrast", "skip", "error", "no glyph pixels to measure",
                                    element=layer.name, box=layer.box))
            continue
        ok = ratio >= threshold
        findings.append(Finding("text.contrast", "pass" if ok else "fail", "error",
                                f"contrast {ratio:.2f}:1 (needs {threshold}:1)", measured=round(ratio, 3),
                                threshold=threshold, element=layer.name, box=layer.box))
    return findings


def measure_contrast(image: Image.Image, box, glyph_mask: Image.Image | None) -> float | None:
    """Ratio of the glyph colour against the 5th-percentile-worst background pixel around the glyphs."""
    if glyph_mask is None or box.area == 0:
        return None
    crop = np.asarray(image.convert("RGB").crop(box.as_tuple()), dtype=np.float64)
    mask = glyph_mask.resize((crop.shape[1], crop.shape[0]))
    core = np.asarray(mask.filter(ImageFilter.MinFilter(3))) > 0
    glyph = np.asarray(mask) > 0
    ring = (np.asarray(mask.filter(ImageFilter.MaxFilter(5))) > 0) & ~glyph
    if not glyph.any() or not ring.any():
        return None
    text_rgb = np.median(crop[core if core.any() else glyph], axis=0)
    text_lum = relative_luminance(tuple(text_rgb))
    ring_pixels = crop[ring]
    lum = _luminance_array(ring_pixels)
    ratios = (np.maximum(lum, text_lum) + 0.05) / (np.minimum(lum, text_lum) + 0.05)
    return float(np.percentile(ratios, BACKGROUND_PERCENTILE))


def overflow(subject: CheckSubject) -> list[Finding]:
    """text.overflow: copy that could not fit its slot at the minimum size is reported, never cut."""
    layers = _text_layers(subject)
    if layers is None:
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
    return [Finding("text.min-size", "pass" if layer.font_size_px >= MIN_TEXT_PX else "fail", "error",
                    f"{layer.font_size_px}px", measured=layer.font_size_px, threshold=MIN_TEXT_PX,
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
        return [Finding("label.ai-visible", "fail", "error", "no AI label placed")]
    from adgen.layout import AI_LABEL_FLOOR_PX, AI_LABEL_MIN_HEIGHT, AI_LABEL_DEFAULT_HEIGHT

    min_px = max(AI_LABEL_FLOOR_PX, round(subject.format.size.shortest_side
                                         * AI_LABEL_MIN_HEIGHT.get(subject.locale, AI_LABEL_DEFAULT_HEIGHT)))
    ratio = measure_contrast(subject.image, label.box, label.glyph_mask) or 0.0
    problems = []
    if label.font_size_px < min_px:
        problems.append(f"text {label.font_size_px}px < {min_px}px")
    if ratio < CONTRAST_NORMAL:
        problems.append(f"contrast {ratio:.2f}:1 < {CONTRAST_NORMAL}:1")
    if label.overflow:
        problems.append("label does not fit")
    return [Finding("label.ai-visible", "fail" if problems else "pass", "error",
                    "; ".join(problems) or f"'{label.text}' at {label.font_size_px}px, contrast {ratio:.2f}:1",
                    measured={"font_px": label.font_size_px, "contrast": round(ratio, 3)},
                    threshold={"font_px": min_px, "contrast": CONTRAST_NORMAL},
                    element="ai_label", box=label.box)]


def _text_layers(subject: CheckSubject):
    if subject.composition is None:
        return None
    return subject.composition.text_layers


def _luminance_array(rgb: np.ndarray) -> np.ndarray:
    c = rgb / 255.0
    linear = np.where(c <= 0.03928, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return linear @ np.array([0.2126, 0.7152, 0.0722])


__all__ = ["contrast", "overflow", "min_size", "ai_label_visible", "measure_contrast", "contrast_ratio"]
