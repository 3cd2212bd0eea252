"""Evidence people look at: an HTML report and a contact sheet for the assets of one run.

Reads the run's `*.report.json` files beside their images (as adgen.export wrote them), never
every report under the folder: an output folder used by an earlier run keeps that run's files, and
the report shows what the manifest lists. It draws the findings'
boxes over the asset: SVG over the image in the HTML (hover a box for the finding), burned into
the thumbnails of the contact sheet. The HTML links the images relatively, so the folder can be
zipped or served as it is.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from PIL import Image, ImageDraw

VERDICT_COLOURS = {"fail": "#D7263D", "warn": "#F2A541", "pass": "#2E933C", "skip": "#8A8A8A"}
VERDICT_RANK = {"fail": 0, "warn": 1, "pass": 2}
THUMB_PX = 320
SHEET_COLUMNS = 4
IMAGE_SUFFIXES = (".jpg", ".png", ".jpeg")


@dataclass(frozen=True)
class _Asset:
    image: Path
    report: dict

    @property
    def verdict(self) -> str:
        return self.report.get("verdict", "fail")

    @property
    def title(self) -> str:
        if self.report.get("title"):  # a report that names itself (a preflight page)
            return self.report["title"]
        recipe = self.report.get("recipe") or {}
        sku = (recipe.get("product") or {}).get("sku") or self.image.parent.name
        return f"{sku} · {recipe.get('format', self.image.stem)} · v{recipe.get('variant', '?')}"

    @property
    def outlined_findings(self) -> list[dict]:
        """Findings that carry a segmented subject's outline (checks of images adgen did not lay out)."""
        return [f for f in self.report.get("findings", []) if f.get("outline") and f["status"] != "skip"]

    @property
    def regions(self) -> list[tuple[dict, dict]]:
        """(finding, region) for every named evidence box a non-skipped finding carries (e.g. product.grounded's bands)."""
        return [(f, r) for f in self.report.get("findings", []) if f.get("regions") and f["status"] != "skip"
                for r in f["regions"]]

    @property
    def drawn_findings(self) -> list[dict]:
        """Findings worth a box on the picture: not passes, not skips, with a box."""
        return [f for f in self.report.get("findings", []) if f.get("box") and f["status"] in ("fail", "warn")]


def write_evidence(out_dir: Path, reports: Iterable[Path]) -> tuple[Path, Path]:
    """Write OUT/report.html and OUT/contact-sheet.png for one run's reports (paths under out_dir); their paths."""
    out_dir = Path(out_dir)
    assets = sorted(_load_assets(reports), key=lambda a: (VERDICT_RANK.get(a.verdict, 0), a.title))
    html_path, sheet_path = out_dir / "report.html", out_dir / "contact-sheet.png"
    html_path.write_text(_html(assets, out_dir), encoding="utf-8")
    _contact_sheet(assets).save(sheet_path, optimize=True)
    return html_path, sheet_path


def _load_assets(reports: Iterable[Path]) -> list[_Asset]:
    assets = []
    for report_path in (Path(p) for p in reports):
        stem = report_path.name[: -len(".report.json")]
        image = next((report_path.with_name(stem + s) for s in IMAGE_SUFFIXES if report_path.with_name(stem + s).is_file()), None)
        if image is None:
            continue  # a report without its image is not an asset (export writes the image first)
        try:
            assets.append(_Asset(image, json.loads(report_path.read_text(encoding="utf-8"))))
        except (OSError, ValueError):
            continue
    return assets


def _html(assets: list[_Asset], out_dir: Path) -> str:
    counts = {v: sum(a.verdict == v for a in assets) for v in ("fail", "warn", "pass")}
    guide = cache(_guideline)  # the same finding on many assets is looked up once
    cards = "\n".join(_card(a, out_dir, i, guide) for i, a in enumerate(assets))
    summary = " · ".join(f'<span class="badge {v}">{n} {v}</span>' for v, n in counts.items())
    return _PAGE.format(count=len(assets), summary=summary, cards=cards)


def _card(asset: _Asset, out_dir: Path, index: int, guide) -> str:
    with Image.open(asset.image) as handle:
        width, height = handle.size
    href = html.escape(asset.image.relative_to(out_dir).as_posix())
    stroke = max(2, round(max(width, height) / 300))
    outlines = "".join(
        f'<polygon points="{" ".join(f"{x},{y}" for x, y in polygon)}" fill="none" stroke="{colour}" '
        f'stroke-width="{stroke}"><title>{html.escape(title)}</title></polygon>'
        for f, colour, title in _outlines(asset) for polygon in f["outline"] if len(polygon) >= 3)
    outlines += "".join(
        f'<rect x="{b[0]}" y="{b[1]}" width="{b[2] - b[0]}" height="{b[3] - b[1]}" fill="none" '
        f'stroke="{VERDICT_COLOURS[f["status"]]}" stroke-width="{stroke}" stroke-dasharray="{3 * stroke}">'
        f'<title>{html.escape(f["rule"] + ": " + r["label"] + " · " + _line(f))}</title></rect>'
        for f, r in asset.regions for b in [r["box"]])
    rects = outlines + "".join(
        f'<rect x="{b[0]}" y="{b[1]}" width="{b[2] - b[0]}" height="{b[3] - b[1]}" fill="none" '
        f'stroke="{VERDICT_COLOURS[f["status"]]}" stroke-width="{stroke}"><title>{html.escape(_line(f))}</title></rect>'
        for f in asset.drawn_findings for b in [f["box"]])
    rows = "".join(
        f'<tr class="{f["status"]}"><td><span class="badge {f["status"]}">{f["status"]}</span></td>'
        f'<td>{html.escape(f["rule"])}</td><td>{html.escape(str(f.get("element") or ""))}</td>'
        f'<td>{html.escape(f["message"])}{_guide_html(f, asset, guide)}</td><td>{html.escape(_short(f.get("measured")))}</td>'
        f'<td>{html.escape(_short(f.get("threshold")))}</td></tr>'
        for f in sorted(asset.report.get("findings", []), key=lambda f: -["skip", "pass", "warn", "fail"].index(f["status"])))
    attempts = "".join(f"<li>{html.escape(json.dumps(a, ensure_ascii=False))}</li>"
                       for a in asset.report.get("attempts", []))
    return _CARD.format(verdict=asset.verdict, rank=VERDICT_RANK.get(asset.verdict, 0), index=index,
                        title=html.escape(asset.title), href=href, w=width, h=height, rects=rects, rows=rows,
                        attempts=attempts or "<li>none</li>", report=html.escape(
                            asset.image.with_name(asset.image.stem + ".report.json").relative_to(out_dir).as_posix()))


def _outlines(asset: _Asset) -> list[tuple[dict, str, str]]:
    """Each distinct outline once: a segmented subject (shared by the marketplace rules) in blue, a rule's own
    evidence (product.halo's ring) in its status colour."""
    drawn, seen = [], []
    for finding in asset.outlined_findings:
        if finding["outline"] in seen:
            continue
        seen.append(finding["outline"])
        own = finding["rule"].startswith("product.")
        drawn.append((finding, VERDICT_COLOURS[finding["status"]] if own else "#0969DA",
                      _line(finding) if own else f"{finding['rule']}: the segmented subject"))
    return drawn


def _guide_html(finding: dict, asset: _Asset, guide) -> str:
    """Why the rule exists, for a failing or warning finding: the brand book's closest passage (adgen kb)."""
    brand = (asset.report.get("recipe") or {}).get("brand")
    if finding["status"] not in ("fail", "warn") or not brand:
        return ""
    hit = guide(brand, finding["rule"], finding["message"])
    if hit is None:
        return ""
    where = hit.passage.source + (f", p. {hit.passage.page}" if hit.passage.page else "")
    return (f'<div class="guide">brand book ({html.escape(where)}, {hit.score:.2f}): '
            f'“{html.escape(hit.passage.text)}”</div>')


def _guideline(brand_id: str, rule_id: str, message: str):
    from adgen.compliance import RULES
    from adgen.knowledge import guideline_for

    summary = next((r.summary for r in RULES if r.id == rule_id), rule_id)
    return guideline_for(brand_id, summary, message)


def _line(finding: dict) -> str:
    return f"{finding['rule']} {finding['status']}: {finding['message']}"


def _short(value) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "…"


def _contact_sheet(assets: list[_Asset]) -> Image.Image:
    """A grid of every asset (worst first) with its findings' boxes and a verdict badge."""
    from adgen.fonts import FontSpec, load_font

    font = load_font(FontSpec(weight=700), "latin", 16)
    small = load_font(FontSpec(weight=400), "latin", 13)
    cell_w, cell_h = THUMB_PX + 16, THUMB_PX + 56
    columns = max(1, min(SHEET_COLUMNS, len(assets)))
    rows = max(1, -(-len(assets) // columns))
    sheet = Image.new("RGB", (columns * cell_w, rows * cell_h), (245, 245, 245))
    draw = ImageDraw.Draw(sheet)
    if not assets:
        draw.text((16, 16), "no assets", font=font, fill=(0, 0, 0))
    for index, asset in enumerate(assets):
        x0, y0 = (index % columns) * cell_w + 8, (index // columns) * cell_h + 8
        thumb = _thumbnail(asset)
        sheet.paste(thumb, (x0 + (THUMB_PX - thumb.width) // 2, y0 + (THUMB_PX - thumb.height) // 2))
        colour = VERDICT_COLOURS.get(asset.verdict, "#000000")
        badge = asset.verdict.upper()
        bw = round(draw.textlength(badge, font=font)) + 16
        draw.rounded_rectangle((x0, y0, x0 + bw, y0 + 26), radius=6, fill=colour)
        draw.text((x0 + 8, y0 + 4), badge, font=font, fill=(255, 255, 255))
        draw.text((x0, y0 + THUMB_PX + 6), asset.title, font=small, fill=(20, 20, 20))
        failed = sorted({f["rule"] for f in asset.report.get("findings", []) if f["status"] == "fail"})
        draw.text((x0, y0 + THUMB_PX + 24), _fit(draw, ", ".join(failed) or "no failing rule", small, THUMB_PX),
                  font=small, fill=colour)
    return sheet


def _thumbnail(asset: _Asset) -> Image.Image:
    with Image.open(asset.image) as handle:
        image = handle.convert("RGB")
    scale = THUMB_PX / max(image.size)
    thumb = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.Resampling.LANCZOS)
    draw = ImageDraw.Draw(thumb)
    for finding, colour, _ in _outlines(asset):
        for polygon in finding["outline"]:
            if len(polygon) >= 3:
                draw.polygon([(round(x * scale), round(y * scale)) for x, y in polygon], outline=colour)
    for finding, region in asset.regions:
        if finding["status"] in ("fail", "warn"):
            box = [round(v * scale) for v in region["box"]]
            draw.rectangle(box, outline=VERDICT_COLOURS[finding["status"]], width=1)
    for finding in asset.drawn_findings:
        box = [round(v * scale) for v in finding["box"]]
        draw.rectangle(box, outline=VERDICT_COLOURS[finding["status"]], width=2)
    return thumb


def _fit(draw, text: str, font, width: int) -> str:
    while text and draw.textlength(text, font=font) > width:
        text = text[:-2] + "…" if len(text) > 1 else ""
    return text


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>adgen report ({count} assets)</title>
<style>
body{{font:14px/1.4 system-ui,sans-serif;margin:24px;background:#fafafa;color:#222}}
header{{display:flex;gap:16px;align-items:center;flex-wrap:wrap}}
.badge{{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-weight:600;font-size:12px}}
.fail{{--c:#D7263D}} .warn{{--c:#F2A541}} .pass{{--c:#2E933C}} .skip{{--c:#8A8A8A}}
.badge.fail,.badge.warn,.badge.pass,.badge.skip{{background:var(--c)}}
.asset{{background:#fff;border:1px solid #ddd;border-left:6px solid var(--c);border-radius:6px;margin:16px 0;padding:12px;display:flex;gap:16px}}
.asset svg{{width:360px;height:auto;flex:none;border:1px solid #eee;background:#fff}}
.asset h2{{font-size:16px;margin:0 0 8px}}
table{{border-collapse:collapse;width:100%;font-size:13px}} td{{border-top:1px solid #eee;padding:3px 6px;vertical-align:top}}
tr.pass,tr.skip{{display:none}} .showall tr.pass,.showall tr.skip{{display:table-row}}
details{{margin-top:6px;font-size:12px}}
.guide{{margin-top:2px;font-size:12px;color:#555;border-left:3px solid #ccc;padding-left:6px}}
</style></head><body>
<header><h1>adgen report</h1><div>{count} assets: {summary}</div>
<label>sort <select id="sort"><option value="verdict">verdict (worst first)</option><option value="title">asset</option></select></label>
<label><input type="checkbox" id="all"> show passing and skipped findings</label>
<label>show <select id="only"><option value="">all verdicts</option><option>fail</option><option>warn</option><option>pass</option></select></label>
</header>
<main id="assets">
{cards}
</main>
<script>
const main=document.getElementById('assets');
document.getElementById('sort').onchange=e=>{{const k=e.target.value;[...main.children].sort((a,b)=>k==='verdict'?(a.dataset.rank-b.dataset.rank)||a.dataset.title.localeCompare(b.dataset.title):a.dataset.title.localeCompare(b.dataset.title)).forEach(n=>main.appendChild(n));}};
document.getElementById('all').onchange=e=>main.classList.toggle('showall',e.target.checked);
document.getElementById('only').onchange=e=>[...main.children].forEach(n=>n.hidden=!!e.target.value&&n.dataset.verdict!==e.target.value);
</script></body></html>
"""

_CARD = """<section class="asset {verdict}" data-verdict="{verdict}" data-rank="{rank}" data-title="{title}" id="a{index}">
<a href="{href}"><svg viewBox="0 0 {w} {h}" xmlns="http://www.w3.org/2000/svg"><image href="{href}" width="{w}" height="{h}"/>{rects}</svg></a>
<div><h2><span class="badge {verdict}">{verdict}</span> {title}</h2>
<table>{rows}</table>
<details><summary>fix and encode attempts</summary><ul>{attempts}</ul></details>
<p><a href="{report}">report.json</a></p></div>
</section>"""
