"""Knowledge ingest: one file (PDF, Markdown, HTML, plain text) -> passages that follow its headings and pages.

Each passage keeps the file's name, its page (PDF, 1-based), the heading it sits under and a
content hash, so re-adding a changed file re-embeds only the passages that changed. Bad input
raises an AdgenError naming the file: it is found before anything is stored.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from adgen.errors import InputError

KINDS = ("guideline", "claim-evidence", "copy-history")
SUFFIXES = {".pdf": "pdf", ".md": "markdown", ".markdown": "markdown", ".html": "html", ".htm": "html",
            ".txt": "text", ".text": "text"}
MAX_FILE_BYTES = 20 * 2**20
PASSAGE_CHARS = 600  # longest passage: a paragraph or list item; longer ones are cut between sentences
# PDF headings (no tags in most PDFs): a line of at most PDF_HEADING_CHARS set PDF_HEADING_SCALE x the body
# size or more; a baseline gap over PDF_PARAGRAPH_GAP body sizes starts a new paragraph.
PDF_HEADING_CHARS, PDF_HEADING_SCALE, PDF_PARAGRAPH_GAP = 120, 1.15, 1.9


@dataclass(frozen=True)
class Passage:
    source: str            # the file's name, never a path (the service must not echo server paths)
    kind: str              # guideline | claim-evidence | copy-history
    page: int | None       # 1-based PDF page; None for other files
    heading: str | None    # nearest heading above the text
    text: str
    hash: str              # sha256 of kind, heading and text: the identity re-adding compares


def passages_of(data: bytes, name: str, kind: str) -> list[Passage]:
    """The passages of one file's bytes; `name` picks the parser by suffix and names the file in errors."""
    if kind not in KINDS:
        raise InputError(f"kind must be one of {', '.join(KINDS)}", field="kind", value=kind)
    parser = SUFFIXES.get(Path(name).suffix.lower())
    if parser is None:
        raise InputError(f"unsupported file type; use {', '.join(sorted(SUFFIXES))}", file=name)
    if not data.strip():
        raise InputError("the file is empty", file=name)
    if len(data) > MAX_FILE_BYTES:
        raise InputError(f"the file is larger than {MAX_FILE_BYTES // 2**20} MB", file=name)
    sections = _PARSERS[parser](data, name)  # (page, heading, text)
    passages = [_passage(name, kind, page, heading, text)
                for page, heading, body in sections for text in _split(body)]
    if not passages:
        raise InputError("no text found in the file", file=name)
    return passages


def _pdf(data: bytes, name: str) -> list[tuple[int | None, str | None, str]]:
    import io

    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        encrypted = reader.is_encrypted
        pages = [] if encrypted else [_pdf_lines(page) for page in reader.pages]
    except Exception as exc:  # noqa: BLE001 - a hostile or broken PDF raises many kinds of error inside pypdf
        raise InputError(f"not a readable PDF ({type(exc).__name__})", file=name) from None
    if encrypted:
        raise InputError("the PDF is encrypted; remove the password and add it again", file=name)
    if not any(line.text for lines in pages for line in lines):
        raise InputError("the PDF has no text layer (a scan?); run OCR on it first", file=name)
    return _pdf_sections(pages)


@dataclass
class _PdfLine:
    text: str
    size: float   # the largest font size on the line, pt as drawn (Tf size x text and user-space scale)
    bold: bool    # every run on the line is in a bold font
    y: float      # baseline, pt from the page's bottom


def _pdf_lines(page) -> list[_PdfLine]:
    """A page's text lines with their font size and weight, from pypdf's text visitor (no layout guessing)."""
    lines: list[_PdfLine] = []
    current: list[tuple[str, float, bool, float]] = []

    def close():
        text = " ".join("".join(run[0] for run in current).split())
        if text:
            lines.append(_PdfLine(text, max(run[1] for run in current), all(run[2] for run in current), current[0][3]))
        current.clear()

    def visit(text, cm, tm, font, size):
        for index, piece in enumerate(text.split("\n")):
            if index:
                close()
            if piece.strip():
                scale = math.hypot(tm[2], tm[3]) * (math.hypot(cm[2], cm[3]) or 1.0)
                base = str((font or {}).get("/BaseFont", ""))
                bold = any(word in base.lower() for word in ("bold", "black", "heavy", "semibold"))
                current.append((piece, round(float(size) * (scale or 1.0), 1), bold, tm[5] * (cm[3] or 1.0) + cm[5]))
            elif piece and current:
                current.append((piece, current[-1][1], current[-1][2], current[-1][3]))

    page.extract_text(visitor_text=visit)
    close()
    return lines


def _pdf_sections(pages: list[list[_PdfLine]]) -> list[tuple[int | None, str | None, str]]:
    """(page, heading, text) sections: a heading is a short line set larger than the body text, or bold when the
    body is not; a section also ends at a page break (each passage keeps its page) and carries its heading on.
    A gap above a line wider than PDF_PARAGRAPH_GAP body lines starts a paragraph (a passage of its own)."""
    from collections import Counter

    sizes = Counter()
    for line in (line for lines in pages for line in lines):
        sizes[(line.size, line.bold)] += len(line.text)
    body_size, body_bold = sizes.most_common(1)[0][0]

    def is_heading(line: _PdfLine) -> bool:
        if len(line.text) > PDF_HEADING_CHARS or line.text[-1] in ".,;:。、，；":
            return False
        return line.size >= body_size * PDF_HEADING_SCALE or (line.bold and not body_bold and line.size >= body_size)

    sections, heading = [], None
    for number, lines in enumerate(pages, start=1):
        text, previous, title = [], None, []
        for line in lines:
            if is_heading(line):
                if text:
                    sections.append((number, heading, "\n".join(text)))
                    text = []
                title = [*title, line.text] if previous is not None and is_heading(previous) else [line.text]
                heading, previous = " ".join(title), line
                continue
            gap = previous.y - line.y if previous is not None else 0
            text.append(("\n" if gap > body_size * PDF_PARAGRAPH_GAP and text else "") + line.text)
            previous = line
        if text:
            sections.append((number, heading, "\n".join(text)))
    return sections


def _markdown(data: bytes, name: str) -> list[tuple[int | None, str | None, str]]:
    from markdown_it import MarkdownIt

    lines = _decode(data, name).splitlines()
    tokens = MarkdownIt().parse("\n".join(lines))
    # Heading line ranges (token.map) split the source; the text between two headings is one section.
    headings = [(tokens[i].map[0], tokens[i].map[1], tokens[i + 1].content)
                for i, t in enumerate(tokens) if t.type == "heading_open" and t.map]
    sections, start, heading = [], 0, None
    for first, after, title in headings:
        sections.append((None, heading, "\n".join(lines[start:first])))
        start, heading = after, title
    sections.append((None, heading, "\n".join(lines[start:])))
    return [s for s in sections if s[2].strip()]


class _HtmlSections(HTMLParser):
    """Text per <h1>-<h6> section; script and style skipped (the stdlib parser: no dependency for this)."""

    HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
    BLOCKS = {"p", "div", "li", "br", "tr", "section", "article", "blockquote"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.sections: list[tuple[int | None, str | None, str]] = []
        self._heading, self._text, self._title, self._in, self._skip = None, [], [], None, 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in self.HEADINGS:
            self._flush()
            self._in, self._title = tag, []
        elif tag in self.BLOCKS:
            self._text.append("\n\n")

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag == self._in:
            self._heading, self._in = " ".join("".join(self._title).split()), None

    def handle_data(self, data):
        if not self._skip:
            (self._title if self._in else self._text).append(data)

    def _flush(self):
        text = "".join(self._text)
        if text.strip():
            self.sections.append((None, self._heading, text))
        self._text = []

    def close(self):
        super().close()
        self._flush()


def _html(data: bytes, name: str) -> list[tuple[int | None, str | None, str]]:
    parser = _HtmlSections()
    parser.feed(_decode(data, name))
    parser.close()
    return parser.sections


def _text(data: bytes, name: str) -> list[tuple[int | None, str | None, str]]:
    return [(None, None, _decode(data, name))]


_PARSERS = {"pdf": _pdf, "markdown": _markdown, "html": _html, "text": _text}


def _decode(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        from charset_normalizer import from_bytes

        best = from_bytes(data).best()
        if best is None:
            raise InputError("not a text file (no encoding fits)", file=name) from None
        return str(best)


def _split(body: str) -> list[str]:
    """Paragraphs and list items, each its own passage (one claim's evidence stays apart from the next);
    one longer than PASSAGE_CHARS is cut between sentences."""
    blocks = re.split(r"\n\s*\n|\n(?=\s*(?:[-*+]|\d+[.)])\s)", body)
    pieces = []
    for block in blocks:
        text = " ".join(re.sub(r"^\s*(?:[-*+]|\d+[.)])\s+", "", block).split())
        if len(text) <= PASSAGE_CHARS:
            pieces += [text] if text else []
            continue
        current = ""
        for sentence in filter(None, re.split(r"(?<=[.!?。！？])\s*", text)):
            if current and len(current) + len(sentence) + 1 > PASSAGE_CHARS:
                pieces.append(current)
                current = ""
            current = f"{current} {sentence}".strip() if current and sentence.isascii() else current + sentence
        pieces += [current[:PASSAGE_CHARS * 2]] if current else []
    return pieces


def _passage(source: str, kind: str, page: int | None, heading: str | None, text: str) -> Passage:
    digest = hashlib.sha256("\x1f".join([kind, heading or "", text]).encode("utf-8")).hexdigest()
    return Passage(source, kind, page, heading, text, digest)
