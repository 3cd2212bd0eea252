"""PDF passages follow the document's headings (found by font size and weight) and keep their page."""

from __future__ import annotations

import io

from adgen.kb_ingest import passages_of


def styled_pdf(pages: list[list[tuple[str, float, str]]], gap: float = 1.6) -> bytes:
    """A real PDF with a text layer: (font F1 Helvetica | F2 Helvetica-Bold, size pt, text) per line, one list per page."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    fonts = {key: writer._add_object(DictionaryObject({
        NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
        NameObject("/BaseFont"): NameObject(f"/{base}")})) for key, base in (("F1", "Helvetica"), ("F2", "Helvetica-Bold"))}
    for lines in pages:
        page = writer.add_blank_page(612, 792)
        y, operators = 740.0, []
        for font, size, text in lines:
            if font == "gap":  # a paragraph break: extra space, no text
                y -= size
                continue
            operators.append(f"BT /{font} {size} Tf 72 {y:.1f} Td ({text}) Tj ET\n")
            y -= size * gap
        stream = DecodedStreamObject()
        stream.set_data("".join(operators).encode("latin-1"))
        page[NameObject("/Contents")] = writer._add_object(stream)
        page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): DictionaryObject(
            {NameObject(f"/{key}"): font for key, font in fonts.items()})})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


BOOK = [[("F2", 18, "Logo"), ("F1", 11, "Keep the logo in the top left corner,"),
         ("F1", 11, "with clear space of a quarter of its height."), ("F2", 18, "Colour"),
         ("F1", 11, "Navy on cream for every headline.")],
        [("F1", 11, "Cream is never pure white."), ("F2", 14, "Claims we"), ("F2", 14, "may make"),
         ("F1", 11, "Cold brew is steeped for 18 hours."), ("gap", 20, ""),
         ("F1", 11, "Beans are roasted in small batches.")]]


def test_pdf_passages_follow_headings_by_size_and_keep_their_page():
    passages = passages_of(styled_pdf(BOOK), "book.pdf", "guideline")
    assert [(p.page, p.heading, p.text) for p in passages] == [
        (1, "Logo", "Keep the logo in the top left corner, with clear space of a quarter of its height."),
        (1, "Colour", "Navy on cream for every headline."),
        (2, "Colour", "Cream is never pure white."),  # the section runs on over the page break
        (2, "Claims we may make", "Cold brew is steeped for 18 hours."),  # a heading over two lines is one
        (2, "Claims we may make", "Beans are roasted in small batches.")]  # a wider gap: a paragraph of its own


def test_bold_lines_at_body_size_are_headings_and_bold_sentences_are_not():
    pdf = styled_pdf([[("F2", 11, "Tone of voice"), ("F1", 11, "Warm and plain."), ("F1", 11, "Never shout."),
                       ("F2", 11, "Always say cold brew."), ("F1", 11, "Not iced coffee.")]])
    assert [(p.heading, p.text) for p in passages_of(pdf, "voice.pdf", "guideline")] == [
        ("Tone of voice", "Warm and plain. Never shout. Always say cold brew. Not iced coffee.")]


def test_a_pdf_without_headings_is_one_section_per_page():
    pdf = styled_pdf([[("F1", 12, "Cold brew is steeped for 18 hours.")], [("F1", 12, "Beans are roasted.")]])
    assert [(p.page, p.heading) for p in passages_of(pdf, "evidence.pdf", "claim-evidence")] == [(1, None), (2, None)]
