"""The linter for a brand's own pictures, run before a LoRA trains on them.

`lint_images(images_dir, resolution=, trigger=, ...) -> LintReport` looks at every image file
and says, per file, whether it is used and why:
- unreadable files and images under half the base's resolution on the short side are skipped
  (a LoRA trained on upscaled thumbnails learns blur); between half and full size they are used
  and the report says they were upscaled;
- CMYK, 16-bit, greyscale, palette and transparent files are converted to 8-bit RGB (said so);
- near-duplicates (perceptual hash, imagehash's pHash) keep the first by name and skip the rest:
  duplicates over-weight one look;
- text and logos found by OCR are masked out of the loss (the LoRA would learn to draw them
  and `background.stray-text` would then fail every plate); with strict=True they refuse the
  set instead, naming the files; an image that is mostly text is skipped;
- a photo dominated by one product on a plain background is used with a warning: the adapter
  is for style, adgen composites the product itself and promises never to redraw it.
Too few usable images left is an InputError naming the folder.
"""

from __future__ import annotations

import io
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from adgen.adapters import file_sha256
from adgen.errors import InputError, NotFoundError
from adgen.training.lora_data import caption_for, image_paths, load_rgb

MIN_SIDE_FRACTION = 0.5    # short side below this share of the base's resolution: skipped
DUPLICATE_HAMMING = 6      # pHash bits (of 64) within which two images are the same picture
TEXT_MIN_SCORE = 0.5       # OCR recognition score for a line to count as text
MOSTLY_TEXT_SHARE = 0.4    # text boxes covering more of the image than this: skipped
PRODUCT_MIN_SHARE = 0.25   # cut-out subject covering at least this much of the frame ...
PRODUCT_MIN_CONFIDENCE = 0.5  # ... with a plain background the cut-out trusts: a product shot
OCR_MAX_SIDE = 1024        # px: OCR runs on a copy no larger than this
# A detected line counts as text when it reads as at least 2 letters/digits in a box wider than
# tall and at most half the image's height: on the style photos, vases and cups read as one huge
# "1", "11" or "H1" (boxes of 67-100 % of the height) were the only false detections; a two-line
# poster headline is 43 % high per line.
TEXT_MIN_CHARS = 2
TEXT_MAX_HEIGHT_SHARE = 0.5


@dataclass(frozen=True)
class LintEntry:
    """One file's verdict: used or skipped, the findings, and what it trains with."""

    file: str
    used: bool
    findings: tuple[str, ...]        # finding codes: see FINDINGS
    notes: tuple[str, ...]           # the findings in words, for the report
    size: tuple[int, int] | None     # (w, h) px
    sha256: str | None
    caption: str = ""
    caption_source: str = ""         # file | built
    text_boxes: tuple[tuple[int, int, int, int], ...] = ()  # px, masked out of the loss


FINDINGS = {
    "unreadable": "skipped", "too-small": "skipped", "near-duplicate": "skipped", "mostly-text": "skipped",
    "text": "masked", "converted": "converted", "upscaled": "used", "product": "warning",
}


@dataclass(frozen=True)
class LintReport:
    folder: str
    resolution: int
    strict: bool
    entries: tuple[LintEntry, ...] = field(default_factory=tuple)

    @property
    def used(self) -> tuple[LintEntry, ...]:
        return tuple(e for e in self.entries if e.used)

    def counts(self) -> dict[str, int]:
        """How many files carry each finding, and how many are used."""
        counts = {"files": len(self.entries), "used": len(self.used)}
        for entry in self.entries:
            for code in entry.findings:
                counts[code] = counts.get(code, 0) + 1
        return counts

    def to_json(self) -> dict:
        return {"folder": self.folder, "resolution": self.resolution, "strict": self.strict,
                "counts": self.counts(), "entries": [asdict(e) for e in self.entries]}

    def table(self) -> str:
        """The report as a readable table (rich, plain text)."""
        from rich.console import Console
        from rich.table import Table

        table = Table("file", "used", "size", "caption", "findings", title=f"LoRA images in {self.folder}")
        for e in self.entries:
            size = f"{e.size[0]}x{e.size[1]}" if e.size else "-"
            table.add_row(e.file, "yes" if e.used else "no", size, e.caption_source or "-",
                          "; ".join(e.notes) or "-")
        console = Console(record=True, width=140, file=io.StringIO())
        console.print(table)
        console.print(" ".join(f"{k}: {v}" for k, v in self.counts().items()))
        return console.export_text()

    def write(self, out_dir: Path) -> Path:
        """lint-report.json and lint-report.txt in `out_dir`; returns the JSON's path."""
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "lint-report.txt").write_text(self.table(), encoding="utf-8")
        path = out_dir / "lint-report.json"
        path.write_text(json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return path

    @classmethod
    def from_json(cls, data: dict) -> LintReport:
        entries = tuple(LintEntry(**{**e, "findings": tuple(e["findings"]), "notes": tuple(e["notes"]),
                                     "size": tuple(e["size"]) if e["size"] else None,
                                     "text_boxes": tuple(tuple(b) for b in e["text_boxes"])})
                        for e in data["entries"])
        return cls(data["folder"], data["resolution"], data["strict"], entries)


def lint_images(images_dir: Path, *, resolution: int, trigger: str, style_words: tuple[str, ...] = (),
                strict: bool = False, min_images: int = 12, ocr: bool = True, products: bool = True) -> LintReport:
    """Lint every image in `images_dir` for a base of `resolution` px; see the module docstring."""
    images_dir = Path(images_dir)
    if not images_dir.is_dir():
        raise NotFoundError("LoRA image folder not found", file=str(images_dir))
    entries, hashes = [], []
    for path in image_paths(images_dir):
        entry, phash = _lint_one(path, resolution, trigger, style_words, ocr, products)
        if entry.used and phash is not None:
            twin = next((name for name, other in hashes if _hamming(phash, other) <= DUPLICATE_HAMMING), None)
            if twin is not None:
                entry = _skip(entry, "near-duplicate", f"near-duplicate of {twin} (perceptual hash)")
            else:
                hashes.append((path.name, phash))
        entries.append(entry)
    report = LintReport(str(images_dir), resolution, strict, tuple(entries))
    if strict:
        texty = [e.file for e in report.entries if "text" in e.findings]
        if texty:
            raise InputError(f"text or logos found by OCR in {len(texty)} image(s): {', '.join(texty)}; "
                             f"remove them or train without --strict to mask the text out of the loss",
                             file=str(images_dir))
    if len(report.used) < min_images:
        raise InputError(f"too few usable images: {len(report.used)} of {len(report.entries)}, need at least "
                         f"{min_images}\n{report.table()}", file=str(images_dir), value=len(report.used))
    return report


def _lint_one(path: Path, resolution: int, trigger: str, style_words: tuple[str, ...], ocr: bool,
              products: bool):
    try:
        image, conversion = load_rgb(path)
    except Exception as exc:  # Pillow raises many types for broken files; the report names it
        return LintEntry(path.name, False, ("unreadable",), (f"unreadable: {exc}",), None, None), None
    caption, source = caption_for(path, trigger=trigger, style_words=style_words)
    findings, notes = [], []
    if conversion:
        findings.append("converted")
        notes.append(conversion)
    entry = LintEntry(path.name, True, (), (), image.size, file_sha256(path), caption, source)
    short = min(image.size)
    if short < MIN_SIDE_FRACTION * resolution:
        return _with(entry, findings, notes, "too-small",
                     f"too small: {image.size[0]}x{image.size[1]} px, the base trains at {resolution} px "
                     f"(need {int(MIN_SIDE_FRACTION * resolution)} px on the short side)", used=False), None
    if short < resolution:
        findings.append("upscaled")
        notes.append(f"upscaled x{resolution / short:.2f} to the base's {resolution} px")
    if ocr:
        boxes = _text_boxes(image)
        if boxes:
            share = _box_share(boxes, image.size)
            if share > MOSTLY_TEXT_SHARE:
                return _with(entry, findings, notes, "mostly-text",
                             f"mostly text: {share:.0%} of the image", used=False), None
            findings.append("text")
            notes.append(f"text/logo in {len(boxes)} box(es), {share:.0%} of the image: masked out of the loss")
            entry = LintEntry(**{**asdict(entry), "text_boxes": tuple(boxes)})
    if products:
        share = _product_share(image)
        if share is not None:
            findings.append("product")
            notes.append(f"a product fills {share:.0%} of the frame on a plain background: the adapter may "
                         f"learn to draw it (adgen composites the real product; use style pictures)")
    return _with(entry, findings, notes), _phash(image)


def _with(entry: LintEntry, findings: list[str], notes: list[str], code: str = "", note: str = "",
          used: bool = True) -> LintEntry:
    if code:
        findings, notes = [*findings, code], [*notes, note]
    return LintEntry(**{**asdict(entry), "used": used, "findings": tuple(findings), "notes": tuple(notes)})


def _skip(entry: LintEntry, code: str, note: str) -> LintEntry:
    return _with(entry, list(entry.findings), list(entry.notes), code, note, used=False)


def _phash(image) -> int:
    import imagehash

    return int(str(imagehash.phash(image)), 16)


def _hamming(a: int, b: int) -> int:
    return bin(a ^ b).count("1")


def _text_boxes(image) -> list[tuple[int, int, int, int]]:
    """OCR lines (text, logos with letters) as px boxes of `image`, padded a little."""
    from adgen.ocr import detect_text

    scale = min(1.0, OCR_MAX_SIDE / max(image.size))
    work = image if scale == 1.0 else image.resize((round(image.width * scale), round(image.height * scale)))
    boxes = []
    for line in detect_text(work, min_score=TEXT_MIN_SCORE):
        chars = sum(ch.isalnum() for ch in line.text)
        if (chars < TEXT_MIN_CHARS or line.box.width < line.box.height
                or line.box.height > TEXT_MAX_HEIGHT_SHARE * work.height):
            continue
        pad = max(1, round(line.box.height * 0.2))
        left, top = max(0, line.box.left - pad), max(0, line.box.top - pad)
        right, bottom = min(work.width, line.box.right + pad), min(work.height, line.box.bottom + pad)
        boxes.append(tuple(int(round(v / scale)) for v in (left, top, right, bottom)))
    return boxes


def _box_share(boxes, size: tuple[int, int]) -> float:
    covered = np.zeros((size[1], size[0]), bool)
    for left, top, right, bottom in boxes:
        covered[top:bottom, left:right] = True
    return float(covered.mean())


def _product_share(image) -> float | None:
    """The subject's share of the frame when the cut-out trusts it (a product on a plain
    background, adgen.compliance.segmentation), else None."""
    from adgen.compliance.segmentation import segment

    small = image.copy()
    small.thumbnail((256, 256))
    seg = segment(small)
    share = float(seg.subject.mean())
    return share if seg.confidence >= PRODUCT_MIN_CONFIDENCE and share >= PRODUCT_MIN_SHARE else None
