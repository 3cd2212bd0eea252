"""What the designer app shows: brand cards, verdict badges, findings drawn on pixels. Pure functions."""

from __future__ import annotations

import base64
import html
import io

from PIL import Image, ImageDraw, ImageFont

from adgen.brand import BrandKit
from adgen.compliance import Finding, Report

STATUS_COLORS = {"pass": "#1a7f37", "warn": "#b45309", "fail": "#cf222e", "skip": "#6e7781"}
STATUS_ICONS = {"pass": "✓", "warn": "!", "fail": "✕", "skip": "–"}
LAYER_OUTLINE = (110, 119, 129, 150)   # every placed layer, thin grey
SUBJECT_OUTLINE = (9, 105, 218, 220)   # the segmented subject of a foreign image, blue
DETAIL_LONG_SIDE_PX = 720              # small formats are scaled up to about this for inspection
FINDING_COLUMNS = ["rule", "status", "element", "message", "measured", "threshold"]
FINDING_COLUMN_WIDTHS = ["20%", "10%", "10%", "32%", "14%", "14%"]


def brand_card_html(kit: BrandKit) -> str:
    """The brand at a glance: logo, palette swatches with roles and hex, fonts, locales, adapter."""
    swatches = "".join(
        f'<div class="adgen-swatch"><span style="background:{html.escape(hex_value)}"></span>'
        f"<b>{html.escape(role)}</b><code>{html.escape(hex_value.upper())}</code></div>"
        for role, hex_value in kit.palette.items())
    fonts = kit.fonts
    adapter = "none"
    if kit.adapter:
        trained = kit.adapter_path is not None and kit.adapter_path.is_file()
        adapter = f"{html.escape(str(kit.adapter.file))} ×{kit.adapter.weight}" + ("" if trained else " (not trained)")
    return (
        '<div class="adgen-brand">'
        f'<div class="adgen-brand-logo"><img alt="{html.escape(kit.name)} logo" src="{_data_uri(kit.logo_path)}"></div>'
        f"<div><h3>{html.escape(kit.name)}</h3>"
        f'<div class="adgen-swatches">{swatches}</div>'
        f"<p><b>Headline</b> {html.escape(fonts.headline.family)} {fonts.headline.weight} · "
        f"<b>Body</b> {html.escape(fonts.body.family)} {fonts.body.weight}</p>"
        f"<p><b>Locales</b> {html.escape(', '.join(kit.locales))} · <b>LoRA</b> {adapter}</p>"
        f"<p><b>Style</b> {html.escape(', '.join(kit.style.words) or '—')}</p></div></div>")


def shape_class(aspect: float) -> str:
    """CSS class that gives a gallery's tiles roughly the format's shape (width / height)."""
    if aspect > 2.5:
        return "adgen-shape-banner"
    if aspect > 1.1:
        return "adgen-shape-landscape"
    return "adgen-shape-tall" if aspect < 0.9 else "adgen-shape-square"


def verdict_badge(verdict: str) -> str:
    color = STATUS_COLORS.get(verdict, STATUS_COLORS["skip"])
    return (f'<span class="adgen-badge adgen-{html.escape(verdict)}" style="background:{color}">'
            f"{STATUS_ICONS.get(verdict, '?')} {html.escape(verdict.upper())}</span>")


def caption(variant: int, verdict: str) -> str:
    """Gallery caption: the variant and its verdict, readable without colour."""
    return f"v{variant} · {STATUS_ICONS.get(verdict, '?')} {verdict.upper()}"


def summary_html(rows: list[dict]) -> str:
    """A table of every asset of the session: format, variant, verdict badge, failed rules, time."""
    if not rows:
        return ""
    body = "".join(
        f"<tr><td>{html.escape(row['format'])}</td><td>v{row['variant']}</td><td>{verdict_badge(row['verdict'])}</td>"
        f"<td>{html.escape(', '.join(row['failed_rules']) or '—')}</td>"
        f"<td>{html.escape(', '.join(row['warned_rules']) or '—')}</td><td>{row['seconds']:.1f} s</td></tr>"
        for row in rows)
    return ('<table class="adgen-summary"><thead><tr><th>format</th><th>variant</th><th>verdict</th>'
            f"<th>failed</th><th>warnings</th><th>time</th></tr></thead><tbody>{body}</tbody></table>")


def findings_rows(findings: tuple[Finding, ...] | list[Finding]) -> list[list[str]]:
    """Findings as table rows, worst first."""
    order = {"fail": 0, "warn": 1, "pass": 2, "skip": 3}
    ordered = sorted(findings, key=lambda f: (order.get(f.status, 4), f.rule))
    return [[f.rule, f"{STATUS_ICONS.get(f.status, '?')} {f.status}", f.element or "", f.message,
             _short(f.measured), _short(f.threshold)] for f in ordered]


def draw_findings(image: Image.Image, report: Report, layer_boxes: tuple = ()) -> Image.Image:
    """A copy of image, scaled up when small, with layer boxes in grey, finding boxes by status and the
    outline of a segmented subject (the evidence of the marketplace rules on an image adgen did not make)."""
    scale = max(1, DETAIL_LONG_SIDE_PX // max(image.size))
    canvas = image.convert("RGB").resize((image.width * scale, image.height * scale), Image.Resampling.NEAREST)
    overlay = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    for box in layer_boxes:
        draw.rectangle(_scaled(box, scale), outline=LAYER_OUTLINE, width=1)
    font = _label_font(max(11, min(36, canvas.width // 36)))
    stroke = max(2, canvas.width // 300)
    outlined = next((f for f in report.findings if f.outline and f.status != "skip"), None)
    for polygon in (outlined.outline if outlined else ()):
        if len(polygon) >= 3:
            draw.polygon([(x * scale, y * scale) for x, y in polygon], outline=SUBJECT_OUTLINE, width=stroke)
    worst_last = sorted((f for f in report.findings if f.box is not None and f.status != "skip"),
                        key=lambda f: ("pass", "warn", "fail").index(f.status) if f.status in ("pass", "warn", "fail") else 0)
    for finding in worst_last:
        color = _rgb(STATUS_COLORS[finding.status])
        box = _scaled(finding.box.as_tuple(), scale)
        draw.rectangle(box, outline=color + (255,), width=1 if finding.status == "pass" else stroke)
        if finding.status != "pass":
            _tag(draw, box, f"{finding.rule} {finding.status}", color, font)
    return Image.alpha_composite(canvas.convert("RGBA"), overlay).convert("RGB")


def cutout_preview(record: dict | None, height: int = 320) -> tuple[Image.Image, str] | None:
    """A product photo's automatic cut-out, for the designer to judge: (matte | cut-out on a checkerboard, caption).

    None when the product needed no cut-out (it came with alpha) or its cached cut-out is gone.
    """
    if not record or not record.get("path"):
        return None
    try:
        with Image.open(record["path"]) as opened:
            cut = opened.convert("RGBA")
    except OSError:
        return None
    scale = height / cut.height
    cut = cut.resize((max(1, round(cut.width * scale)), height), Image.Resampling.LANCZOS)
    matte = cut.getchannel("A").convert("RGB")
    board = Image.new("RGB", cut.size, "#ffffff")
    draw = ImageDraw.Draw(board)
    for y in range(0, cut.height, 16):  # a checkerboard shows the matte's soft edge and holes
        for x in range((y // 16) % 2 * 16, cut.width, 32):
            draw.rectangle((x, y, x + 15, y + 15), fill="#d9d9d9")
    board.paste(cut, (0, 0), cut)
    sheet = Image.new("RGB", (cut.width * 2 + 8, height), "#ffffff")
    sheet.paste(matte, (0, 0))
    sheet.paste(board, (cut.width + 8, 0))
    used = "placed" if record.get("applied") else "not used: placed framed"
    return sheet, (f"Product cut-out ({used}): matte and result · {record.get('method')}, "
                   f"confidence {record.get('confidence', 0):.2f} · {record.get('reason')}")


def _tag(draw, box, text, color, font) -> None:
    left, top = box[0], box[1]
    text_box = draw.textbbox((0, 0), text, font=font)
    width, height = text_box[2] - text_box[0] + 8, text_box[3] - text_box[1] + 6
    top = top - height if top - height >= 0 else top
    draw.rectangle((left, top, left + width, top + height), fill=color + (230,))
    draw.text((left + 4, top + 3 - text_box[1]), text, fill=(255, 255, 255, 255), font=font)


def _label_font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def _scaled(box, scale: int) -> tuple[int, int, int, int]:
    left, top, right, bottom = box
    return (left * scale, top * scale, max(left * scale, right * scale - 1), max(top * scale, bottom * scale - 1))


def _rgb(hex_value: str) -> tuple[int, int, int]:
    return tuple(int(hex_value[i:i + 2], 16) for i in (1, 3, 5))


def _short(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3g}"
    text = str(value)
    return text if len(text) <= 32 else text[:31] + "…"


def _data_uri(path) -> str:
    """The logo inline, so the card needs no file route (and works when mounted under /ui)."""
    with Image.open(path) as logo:
        logo.thumbnail((320, 160))
        buffer = io.BytesIO()
        logo.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


UI_CSS = """
.adgen-brand {display:flex; gap:16px; align-items:flex-start}
.adgen-brand h3 {margin:0 0 6px 0}
.adgen-brand p {margin:4px 0; font-size:0.9em}
.adgen-brand-logo {background:repeating-conic-gradient(#eee 0 25%, #fff 0 50%) 0 0/16px 16px;
  border-radius:8px; padding:8px; min-width:96px; text-align:center}
.adgen-brand-logo img {max-width:120px; max-height:72px}
.adgen-swatches {display:flex; flex-wrap:wrap; gap:6px; margin:4px 0 8px}
.adgen-swatch {display:flex; align-items:center; gap:4px; font-size:0.8em; border:1px solid #d0d7de;
  border-radius:6px; padding:2px 6px 2px 2px}
.adgen-swatch span {display:inline-block; width:22px; height:22px; border-radius:4px; border:1px solid #0002}
.adgen-badge {color:#fff; border-radius:999px; padding:1px 10px; font-weight:700; font-size:0.85em;
  white-space:nowrap}
.adgen-gallery .fixed-height {min-height:0 !important; max-height:none !important}
.adgen-gallery .grid-wrap {overflow-y:visible !important}
.adgen-gallery .grid-container {grid-auto-rows:auto !important}
.adgen-gallery .gallery-item, .adgen-gallery .thumbnail-item {height:auto !important}
.adgen-shape-banner .thumbnail-item {aspect-ratio:5 / 1 !important}
.adgen-shape-landscape .thumbnail-item {aspect-ratio:4 / 3 !important}
.adgen-shape-tall .thumbnail-item {aspect-ratio:2 / 3 !important}
.adgen-info {font-size:0.8em; opacity:0.75; margin-top:-4px}
.adgen-summary {width:100%; border-collapse:collapse; font-size:0.9em}
.adgen-summary th, .adgen-summary td {text-align:left; padding:4px 8px; border-bottom:1px solid #d0d7de}
"""
