"""Grounding and copy-space figures of two runs' reports, before and after (issue 10, items 3-5).

    python -m bench grounding BEFORE_DIR AFTER_DIR [--sheet docs/img/grounding-before-after.png] [--json F]

For every laid-out asset (a product placed with a shadow: marketplace main images excluded) in
both folders, matched by SKU and format: the grounding measure (mean L* of a band just under the
product's base minus the same rows beside it; negative is darker, the rule product.grounded's
own measure), and product.fidelity as each report recorded it. For each whole run, per 100
assets: scrims (text layers typeset on a scrim, buttons excluded) and contrast fixes (the
recolour-or-scrim fix applied), counted from the reports' layers and attempts. With --sheet,
a contact sheet of the before/after pairs.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from PIL import Image, ImageDraw

CELL_PX = 300


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench grounding")
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--sheet", type=Path, help="write a before/after contact sheet (PNG) here")
    parser.add_argument("--json", type=Path, help="write the figures as JSON here")
    args = parser.parse_args(argv)
    runs = {"before": _assets(args.before), "after": _assets(args.after)}
    keys = sorted(set(runs["before"]) & set(runs["after"]))
    rows = []
    for key in keys:
        before, after = runs["before"][key], runs["after"][key]
        row = {"asset": " ".join(key), "before_delta_l": grounding_measure(*before),
               "after_delta_l": grounding_measure(*after),
               "before_fidelity": _measured(before[1], "product.fidelity"),
               "after_fidelity": _measured(after[1], "product.fidelity"),
               "after_grounded": _status(after[1], "product.grounded"), "after_halo": _measured(after[1], "product.halo")}
        if row["before_delta_l"] is None and row["after_delta_l"] is None:
            continue
        rows.append(row)
        print(f"{row['asset']:<28} grounding {_fmt(row['before_delta_l'])} -> {_fmt(row['after_delta_l'])} L*   "
              f"fidelity {row['before_fidelity']} -> {row['after_fidelity']}   grounded {row['after_grounded']}   "
              f"halo {row['after_halo']}")
    copy_space = {name: copy_space_counts([report for _, report in assets.values()]) for name, assets in runs.items()}
    for name, counts in copy_space.items():
        print(f"{name}: {counts['assets']} assets, scrims {counts['scrims_per_100']} per 100, "
              f"contrast fixes {counts['contrast_fixes_per_100']} per 100")
    if args.json:
        args.json.write_text(json.dumps({"grounding": rows, "copy_space": copy_space}, indent=2) + "\n")
    if args.sheet:
        args.sheet.parent.mkdir(parents=True, exist_ok=True)
        contact_sheet([(runs["before"][tuple(r["asset"].split(" "))], runs["after"][tuple(r["asset"].split(" "))], r)
                       for r in rows]).save(args.sheet, optimize=True)
        close = args.sheet.with_name(args.sheet.stem + "-closeups.png")
        closeups([(runs["before"][tuple(r["asset"].split(" "))], runs["after"][tuple(r["asset"].split(" "))], r)
                  for r in rows]).save(close, optimize=True)
        print(f"sheet: {args.sheet}\ncloseups: {close}")


def grounding_measure(image_path: Path, report: dict) -> float | None:
    """product.grounded's measure on one exported asset (L*, negative is darker under the base), or None."""
    from adgen.compliance.artwork_rules import placed_artwork
    from adgen.compliance.grounding_rules import grounding_bands, grounding_delta
    from adgen.composition import PlacedLayer
    from adgen.geometry import Box, Size

    if (report.get("recipe") or {}).get("format", "").startswith("amazon"):
        return None
    layers = {layer["name"]: layer for layer in report.get("layers", [])}
    product = layers.get("product")
    if product is None or not product.get("source"):
        return None
    box = Box(*product["box"])
    layer = PlacedLayer("product", "image", box, Box(*product["slot_box"]), source=Path(product["source"]))
    _, alpha = placed_artwork(layer)
    with Image.open(image_path) as handle:
        image = handle.convert("RGB")
    bands = grounding_bands(box, alpha, Size(*image.size),
                            [Box(*other["box"]) for name, other in layers.items() if name != "product"])
    return None if bands is None else round(grounding_delta(image, *bands), 2)


def copy_space_counts(reports: list[dict]) -> dict:
    """Scrims behind copy (buttons are their own plate, not a scrim) and contrast fixes applied, per 100 assets."""
    scrims = sum(1 for report in reports for layer in report.get("layers", [])
                 if layer.get("kind") == "text" and layer.get("scrim")
                 and not any(note.startswith("button ") for note in layer.get("notes", [])))
    fixes = sum(1 for report in reports for attempt in report.get("attempts", [])
                if attempt.get("fix") == "recolour-or-scrim" and attempt.get("applied"))
    count = max(1, len(reports))
    return {"assets": len(reports), "scrims": scrims, "contrast_fixes": fixes,
            "scrims_per_100": round(100 * scrims / count, 1), "contrast_fixes_per_100": round(100 * fixes / count, 1)}


def contact_sheet(pairs) -> Image.Image:
    """Two pairs a row: before | after, each labelled with its grounding measure."""
    from adgen.fonts import FontSpec, load_font

    font = load_font(FontSpec(weight=600), "latin", 14)
    columns, label_h = 4, 40
    rows = max(1, -(-len(pairs) // 2))
    sheet = Image.new("RGB", (columns * (CELL_PX + 12) + 12, rows * (CELL_PX + label_h + 12) + 12), (236, 236, 236))
    draw = ImageDraw.Draw(sheet)
    for index, ((before_path, _), (after_path, _), row) in enumerate(pairs):
        for side, (path, measure) in enumerate(((before_path, row["before_delta_l"]), (after_path, row["after_delta_l"]))):
            column = (index % 2) * 2 + side
            x0, y0 = 12 + column * (CELL_PX + 12), 12 + (index // 2) * (CELL_PX + label_h + 12)
            with Image.open(path) as handle:
                thumb = handle.convert("RGB")
            thumb.thumbnail((CELL_PX, CELL_PX), Image.Resampling.LANCZOS)
            sheet.paste(thumb, (x0 + (CELL_PX - thumb.width) // 2, y0 + (CELL_PX - thumb.height) // 2))
            draw.text((x0, y0 + CELL_PX + 4), f"{'before' if side == 0 else 'after'} · {row['asset']}", font=font,
                      fill=(20, 20, 20))
            draw.text((x0, y0 + CELL_PX + 21), f"under the base {_fmt(measure)} L*", font=font,
                      fill=(46, 147, 60) if measure is not None and measure <= -4 else (215, 38, 61))
    return sheet


def closeups(pairs, width: int = 420) -> Image.Image:
    """The product's base, before | after, each pair a row: where a shadow or halo shows."""
    from adgen.fonts import FontSpec, load_font

    font = load_font(FontSpec(weight=600), "latin", 14)
    crops = []
    for (before_path, before_report), (after_path, _), row in pairs:
        product = next(layer for layer in before_report["layers"] if layer["name"] == "product")
        left, top, right, bottom = product["box"]
        w, h = right - left, bottom - top
        pair = []
        for path in (before_path, after_path):
            with Image.open(path) as handle:
                image = handle.convert("RGB")
            box = (max(0, round(left - 0.3 * w)), max(0, round(bottom - 0.25 * h)),
                   min(image.width, round(right + 0.3 * w)), min(image.height, round(bottom + 0.2 * h)))
            crop = image.crop(box)
            pair.append(crop.resize((width, max(1, round(crop.height * width / crop.width))), Image.Resampling.LANCZOS))
        crops.append((pair, row))
    height = sum(pair[0].height + 26 for pair, _ in crops) + 12
    sheet = Image.new("RGB", (2 * width + 36, height), (236, 236, 236))
    draw, y = ImageDraw.Draw(sheet), 12
    for pair, row in crops:
        draw.text((12, y), f"{row['asset']}: before {_fmt(row['before_delta_l'])} L* | after "
                           f"{_fmt(row['after_delta_l'])} L*", font=font, fill=(20, 20, 20))
        sheet.paste(pair[0], (12, y + 20))
        sheet.paste(pair[1], (24 + width, y + 20))
        y += pair[0].height + 26
    return sheet


def _assets(folder: Path) -> dict[tuple[str, str], tuple[Path, dict]]:
    found = {}
    for report_path in sorted(Path(folder).rglob("*.report.json")):
        stem = report_path.name[: -len(".report.json")]
        image = next((report_path.with_name(stem + s) for s in (".jpg", ".png") if report_path.with_name(stem + s).is_file()), None)
        if image is None:
            continue
        report = json.loads(report_path.read_text(encoding="utf-8"))
        recipe = report.get("recipe") or {}
        found[((recipe.get("product") or {}).get("sku", report_path.parent.name), stem)] = (image, report)
    return found


def _measured(report: dict, rule: str):
    return next((f["measured"] for f in report.get("findings", []) if f["rule"] == rule), None)


def _status(report: dict, rule: str):
    return next((f["status"] for f in report.get("findings", []) if f["rule"] == rule), None)


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:+.1f}"
