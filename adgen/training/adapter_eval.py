"""Evaluation that decides whether a registry version is promoted (adgen.lora_registry.promotion_gate).

`evaluate_version(pipe, kit, candidate, previous)` renders the same prompts x seeds three ways:
the base without an adapter, the candidate, and the version active now ("previous"), and
measures for each (lower is better except diversity):

- palette_de00: share-weighted CIEDE2000 from each plate's dominant colours to the nearest
  brand palette colour (adgen.training.lora_eval.palette_distance), mean over plates;
- stray_text_rate: share of plates where OCR finds text, with the background.stray-text
  rule's own detector and thresholds (adgen.compliance.ocr_rules.detect_scaled);
- diversity: mean pairwise 1 - SSIM (scikit-image) between the seeds of one prompt, mean over
  prompts: an adapter that draws the same plate for every seed has collapsed;
- held_out_lab_distance: distance of each plate's CIELAB moments (mean and standard
  deviation of L*, a*, b*) to the mean moments of the brand images held out of training;
- with negatives (rejected off_brand_colour plates, `--from-approved`): to_approved_de00 and
  to_negatives_de00, the plates' palette distance to the colours of the approved held-out
  plates and to those of the rejected ones.

It writes eval_grid.png into the candidate's folder: a row per condition, a plate per
prompt x seed. The figures are returned for adapter.json's "eval" field.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from adgen.adapters import AdapterRef, activate_adapter
from adgen.lora_registry import EVAL_GRID_FILE, AdapterVersion
from adgen.training.lora_eval import HELD_OUT_PROMPTS, dominant_colours, palette_distance

HELD_OUT_DIR = "held_out"      # brand images kept out of training (adgen.training.adapter_versions)
NEGATIVES_DIR = "negatives"    # rejected plates (reason off_brand_colour) when trained from approved ones
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
GRID_LABEL_PX = 150


def evaluate_version(pipe, kit, candidate: AdapterVersion, previous: AdapterVersion | None = None, *,
                     prompts: tuple[str, ...] = HELD_OUT_PROMPTS, seeds: tuple[int, ...] = (0, 1, 2),
                     steps: int = 20, guidance: float = 5.0) -> dict:
    """Figures of the base, `candidate` and `previous` on the same plates; writes the eval grid."""
    weight = kit.adapter.weight if kit.adapter else 0.8
    conditions = {"base": None, "adapter": _ref(candidate, weight)}
    if previous is not None and previous.version != candidate.version:
        conditions["previous"] = _ref(previous, weight)
    trigger = candidate.info.get("trigger", "")
    plates = {name: _render(pipe, ref, prompts, seeds, steps, guidance, trigger) for name, ref in conditions.items()}
    held_out = _images(candidate.path / HELD_OUT_DIR)
    negatives = _images(candidate.path / NEGATIVES_DIR)
    figures = {name: _figures(rows, kit.palette, held_out, negatives) for name, rows in plates.items()}
    _grid(plates, candidate, previous, prompts, seeds).save(candidate.path / EVAL_GRID_FILE)
    data = {"held_out_images": len(held_out), "negative_images": len(negatives)}
    if negatives:  # what the reviewers' decisions look like against the palette
        data["approved_palette_de00"] = _mean(palette_distance(i, kit.palette) for i in held_out)
        data["negative_palette_de00"] = _mean(palette_distance(i, kit.palette) for i in negatives)
    return {"conditions": figures, "previous_version": conditions.get("previous") and previous.version,
            "prompts": list(prompts), "seeds": list(seeds), "steps": steps, "guidance": guidance,
            "weight": weight, "data": data, "evaluated_at": time.time()}


def _ref(version: AdapterVersion, weight: float) -> AdapterRef:
    # A name per version: the resident pipeline keeps every adapter it loaded under its name.
    return AdapterRef(name=f"eval_{version.brand}_v{version.version}".replace("-", "_"), path=version.weights,
                      weight=weight, trigger=version.info.get("trigger", ""))


def _render(pipe, ref: AdapterRef | None, prompts, seeds, steps: int, guidance: float, trigger: str):
    """A row of plates per prompt (one per seed); the prompt carries the trigger words in every condition."""
    from adgen.plate_guide import render_plain

    activate_adapter(pipe, ref)
    rows = []
    try:
        for prompt in prompts:
            text = f"{trigger}, {prompt}" if trigger else prompt
            rows.append(render_plain(pipe, [text] * len(seeds), seeds=list(seeds), steps=steps, guidance=guidance))
    finally:
        activate_adapter(pipe, None)
    return rows


def _figures(rows: list[list[Image.Image]], palette: dict[str, str], held_out: list[Image.Image],
             negatives: list[Image.Image]) -> dict:
    flat = [plate for row in rows for plate in row]
    figures = {
        "palette_de00": _mean(palette_distance(p, palette) for p in flat),
        "stray_text_rate": _mean(float(_has_text(p)) for p in flat),
        "diversity": _mean(_diversity(row) for row in rows if len(row) > 1) if any(len(r) > 1 for r in rows) else None,
        "held_out_lab_distance": _lab_distance(flat, held_out) if held_out else None,
        "plates": len(flat),
    }
    if negatives:
        approved_palette = _reference_palette(held_out)
        figures["to_approved_de00"] = _mean(palette_distance(p, approved_palette) for p in flat)
        figures["to_negatives_de00"] = _mean(palette_distance(p, _reference_palette(negatives)) for p in flat)
    return figures


def _has_text(plate: Image.Image) -> bool:
    from adgen.compliance.ocr_rules import detect_scaled
    from adgen.compliance.thresholds import all_defaults

    limits = all_defaults()
    min_score, min_chars = limits["background.stray-text.min_score"], limits["background.stray-text.min_chars"]
    return any(len("".join(line.text.split())) >= min_chars for line in detect_scaled(plate, min_score))


def _diversity(row: list[Image.Image]) -> float:
    """Mean pairwise 1 - SSIM between the plates of one prompt (64 px, colour)."""
    from skimage.metrics import structural_similarity

    arrays = [np.asarray(p.convert("RGB").resize((64, 64), Image.BILINEAR), np.float32) / 255 for p in row]
    pairs = [(i, j) for i in range(len(arrays)) for j in range(i + 1, len(arrays))]
    return _mean(1.0 - structural_similarity(arrays[i], arrays[j], channel_axis=2, data_range=1.0)
                 for i, j in pairs)


def _lab_moments(image: Image.Image) -> np.ndarray:
    from skimage.color import rgb2lab

    lab = rgb2lab(np.asarray(image.convert("RGB").resize((64, 64), Image.BILINEAR), np.float32) / 255)
    pixels = lab.reshape(-1, 3)
    return np.concatenate([pixels.mean(axis=0), pixels.std(axis=0)])


def _lab_distance(plates: list[Image.Image], held_out: list[Image.Image]) -> float:
    """Mean Euclidean distance (CIELAB units) of plates' moments to the held-out images' mean moments."""
    target = np.mean([_lab_moments(i) for i in held_out], axis=0)
    return _mean(float(np.linalg.norm(_lab_moments(p) - target)) for p in plates)


def _reference_palette(images: list[Image.Image]) -> dict[str, str]:
    """The dominant colours of a set of images (4 per image), as a palette to measure against."""
    colours = {f"#{r:02X}{g:02X}{b:02X}" for image in images for (r, g, b), _ in dominant_colours(image)}
    return {f"c{i}": hex_value for i, hex_value in enumerate(sorted(colours))}


def _images(folder: Path) -> list[Image.Image]:
    if not folder.is_dir():
        return []
    return [Image.open(p).convert("RGB") for p in sorted(folder.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES]


def _grid(plates: dict, candidate: AdapterVersion, previous: AdapterVersion | None, prompts, seeds) -> Image.Image:
    labels = {"base": "base, no adapter", "adapter": f"candidate v{candidate.version}",
              "previous": f"active v{previous.version}" if previous else ""}
    side = 128
    cols = len(prompts) * len(seeds)
    grid = Image.new("RGB", (GRID_LABEL_PX + side * cols, 16 + side * len(plates)), "white")
    draw = ImageDraw.Draw(grid)
    for p, prompt in enumerate(prompts):
        draw.text((GRID_LABEL_PX + p * len(seeds) * side + 2, 2), prompt[:len(seeds) * 20], fill="black")
    for r, (name, rows) in enumerate(plates.items()):
        top = 16 + r * side
        draw.text((4, top + side // 2 - 6), labels[name], fill="black")
        for p, row in enumerate(rows):
            for s, plate in enumerate(row):
                grid.paste(plate.convert("RGB").resize((side, side), Image.BILINEAR),
                           (GRID_LABEL_PX + (p * len(seeds) + s) * side, top))
    return grid


def _mean(values) -> float:
    values = list(values)
    return round(float(np.mean(values)), 4) if values else 0.0
