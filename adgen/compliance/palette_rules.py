"""brand.palette: placed brand-colour elements measured in CIEDE2000 against the kit's palette."""

from __future__ import annotations

import numpy as np

from adgen.color import Color
from adgen.compliance.report import Finding
from adgen.compliance.subject import CheckSubject

# Black and white are the typesetter's fallback when no palette colour reaches the contrast
# minimum (adgen.typesetting picks them only then): legibility outranks the palette.
NEUTRALS = ("#000000", "#FFFFFF")
PLATE_CLUSTERS = 4


def palette(subject: CheckSubject) -> list[Finding]:
    """brand.palette: text colours, scrims and the CTA button pass at dE00 <= 1, fail above 2; plate advisory."""
    if not subject.placed:
        return [Finding("brand.palette", "skip", "warning", "no placed elements: image was not laid out by adgen")]
    pass_de, fail_de = subject.threshold("brand.palette.pass_delta_e"), subject.threshold("brand.palette.fail_delta_e")
    findings = []
    for element, hex_value, box in _brand_colour_elements(subject):
        role, de = nearest_palette_role(hex_value, subject.brand.palette)
        if hex_value.upper() in NEUTRALS:
            findings.append(Finding("brand.palette", "pass", "warning", f"{hex_value} is a legibility neutral",
                                    measured=hex_value, element=element, box=box))
            continue
        status = "pass" if de <= pass_de else "fail" if de > fail_de else "warn"
        findings.append(Finding("brand.palette", status, "warning",
                                f"{hex_value} is dE00 {de:.2f} from {role} ({subject.brand.palette[role]})",
                                measured=round(de, 3), threshold={"pass": pass_de, "fail": fail_de},
                                element=element, box=box))
    return findings + _plate_advisory(subject)


def delta_e00(rgb_a, rgb_b) -> np.ndarray:
    """CIEDE2000 (Sharma et al. 2005) between sRGB colours (0-255, ... x 3), D65 2-degree observer."""
    # scikit-image's, not colour-science's: the same formula, and colour-science is not a dependency;
    # importing it would cost ~3 s on every `adgen check`. lora_eval uses this one too.
    from skimage.color import deltaE_ciede2000, rgb2lab

    lab_a, lab_b = (rgb2lab(np.asarray(c, dtype=float).reshape(-1, 1, 3) / 255.0) for c in (rgb_a, rgb_b))
    return deltaE_ciede2000(lab_a, lab_b).reshape(-1)


def nearest_palette_role(hex_value: str, palette_hex: dict[str, str]) -> tuple[str, float]:
    roles = list(palette_hex)
    des = delta_e00([Color.from_hex(hex_value).as_tuple()] * len(roles),
                    [Color.from_hex(palette_hex[r]).as_tuple() for r in roles])
    best = int(np.argmin(des))
    return roles[best], float(np.atleast_1d(des)[best])


def _brand_colour_elements(subject: CheckSubject):
    """(element, hex, box) for each colour adgen placed as brand colour; the CTA button measured on pixels."""
    for layer in subject.composition.text_layers:
        if layer.color:
            yield layer.name, layer.color, layer.box
        if layer.scrim:
            yield f"{layer.name}.scrim", layer.scrim, layer.box
        if layer.name == "cta" and not layer.scrim:
            button = _button_colour(subject.final_image, layer)
            if button:
                yield "cta.button", button, layer.slot_box


def _button_colour(image, layer) -> str | None:
    # The button fills the CTA's slot box; the median of its pixels that are not glyph ink is the fill.
    crop = np.asarray(image.crop(layer.slot_box.as_tuple()), dtype=np.int32).reshape(-1, 3)
    ink = np.zeros((layer.slot_box.height, layer.slot_box.width), dtype=bool)
    top, left = layer.box.top - layer.slot_box.top, layer.box.left - layer.slot_box.left
    ink[max(0, top - 3):top + layer.box.height + 3, max(0, left - 3):left + layer.box.width + 3] = True
    pixels = crop[~ink.reshape(-1)]
    if len(pixels) == 0:
        return None
    return Color(*(int(v) for v in np.median(pixels, axis=0))).hex


def _plate_advisory(subject: CheckSubject) -> list[Finding]:
    """Dominant plate colours far from every palette colour: info only, the model paints the scene."""
    import cv2

    max_de, min_share = subject.threshold("brand.palette.plate_delta_e"), subject.threshold("brand.palette.plate_min_share")
    small = np.asarray(subject.composition.plate.convert("RGB").resize((64, 64)), dtype=np.float32).reshape(-1, 3)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 1.0)
    cv2.setRNGSeed(0)  # k-means starts from random centres: fix them so the report is reproducible
    _, labels, centres = cv2.kmeans(small, PLATE_CLUSTERS, None, criteria, 2, cv2.KMEANS_PP_CENTERS)
    shares = np.bincount(labels.ravel(), minlength=PLATE_CLUSTERS) / len(labels)
    findings = []
    for centre, share in sorted(zip(centres, shares), key=lambda cs: -cs[1]):
        if share < min_share:
            continue
        hex_value = Color(*(int(round(v)) for v in centre)).hex
        role, de = nearest_palette_role(hex_value, subject.brand.palette)
        findings.append(Finding("brand.palette", "warn" if de > max_de else "pass", "info",
                                f"plate colour {hex_value} ({share:.0%}) is dE00 {de:.1f} from {role}",
                                measured=round(de, 2), threshold=max_de, element="plate"))
    return findings

