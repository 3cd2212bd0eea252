"""Copy rules: banned terms (normalised against spacing and width tricks) and required disclaimers."""

from __future__ import annotations

import re
import unicodedata
from functools import cache

import yaml

from adgen.compliance.report import Finding
from adgen.compliance.subject import CheckSubject
from adgen.settings import PACKAGE_DIR

BANNED_TERMS_FILE = PACKAGE_DIR / "data" / "banned_terms.yaml"
# Zero-width and joiner characters people use to slip a term past a filter.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_SPACED_LETTERS = re.compile(r"\b(?:\w[\s.\-_*·]){2,}\w\b")
EVIDENCE_CHARS = 120  # a finding carries this much of the text around a match, not the whole string


def banned_terms(subject: CheckSubject) -> list[Finding]:
    """copy.banned-terms: every banned term found in any copy string or placed text."""
    terms = _terms_for(subject.locale, subject.category) + subject.brand.banned_terms_for(subject.locale)
    findings = []
    for element, text in _copy_texts(subject).items():
        hits = [term for term in terms if _contains(text, term)]
        for term in hits:
            findings.append(Finding("copy.banned-terms", "fail", "error",
                                    f"banned term {term!r} in {element}", measured=_excerpt(text, term),
                                    threshold=term,
                                    element=element, box=_box_of(subject, element)))
    if not findings:
        findings.append(Finding("copy.banned-terms", "pass", "error",
                                f"none of {len(terms)} banned terms found", measured=0, threshold=0))
    return findings


def required_disclaimer(subject: CheckSubject) -> list[Finding]:
    """copy.required-disclaimer: each disclaimer the kit requires appears verbatim, reads back by OCR, with contrast."""
    required = subject.brand.disclaimers_for(subject.category, subject.locale)
    if subject.format.marketplace:
        return [Finding("copy.required-disclaimer", "skip", "error",
                        "marketplace main images carry no text; disclaimers belong in the listing")]
    if not required:
        return [Finding("copy.required-disclaimer", "pass", "error",
                        f"no disclaimer required for {subject.category} in {subject.locale}")]
    texts = _copy_texts(subject)
    if "disclaimer" not in texts and subject.layers_from_ocr:
        return [_found_by_ocr(subject, text) for text in required]
    placed = texts.get("disclaimer", "")
    findings = []
    for text in required:
        present = _normalise(text) in _normalise(placed)
        problems = [] if present else [f"required disclaimer missing: {text!r}"]
        layer = subject.composition.layer("disclaimer") if subject.placed else None
        if present and layer is not None:
            problems += _readability_problems(subject, layer)
        findings.append(Finding("copy.required-disclaimer", "fail" if problems else "pass", "error",
                                "; ".join(problems) or "required disclaimer present, legible, with contrast",
                                measured=placed or None, threshold=text, element="disclaimer",
                                box=_box_of(subject, "disclaimer")))
    return findings


def _readability_problems(subject: CheckSubject, layer) -> list[str]:
    """A disclaimer nobody can read is not there: the text.legible and text.contrast tests on its layer."""
    from adgen.compliance.ocr_rules import legibility_finding
    from adgen.compliance.text_rules import contrast_needed, measure_contrast
    from adgen.ocr import locale_supported

    problems = []
    if locale_supported(subject.locale):
        legible = legibility_finding(subject, layer)
        if legible.status == "fail":
            problems.append(f"not legible: {legible.message}")
    ratio = measure_contrast(subject.image, layer.box, layer.glyph_mask, layer.color)
    needed = contrast_needed(subject, layer)
    if ratio is not None and ratio < needed:
        problems.append(f"contrast {ratio:.2f}:1 < {needed}:1")
    return problems


def _found_by_ocr(subject: CheckSubject, text: str) -> Finding:
    """Images adgen did not lay out: the disclaimer must be somewhere in the OCR'd text, within the CER limit."""
    from rapidfuzz import fuzz

    max_cer = subject.threshold("text.legible.max_cer")
    layers = subject.composition.text_layers if subject.composition else ()
    squeeze = lambda s: re.sub(r"\s+", "", _normalise(s))  # noqa: E731 - OCR spacing is loose
    seen = "".join(squeeze(layer.text or "") for layer in layers)
    similarity = fuzz.partial_ratio(squeeze(text), seen) / 100 if seen else 0.0
    ok = similarity >= 1 - max_cer
    return Finding("copy.required-disclaimer", "pass" if ok else "fail", "error",
                   f"OCR found the required disclaimer ({similarity:.0%})" if ok
                   else f"required disclaimer not found by OCR: {text!r}",
                   measured=round(similarity, 3), threshold=text, element="disclaimer")


def _copy_texts(subject: CheckSubject) -> dict[str, str]:
    texts = dict(subject.copy)
    if subject.composition is not None:
        texts.update({layer.name: layer.text for layer in subject.composition.text_layers if layer.text})
    return texts


def _box_of(subject: CheckSubject, element: str):
    layer = subject.composition.layer(element) if subject.composition else None
    return layer.box if layer else None


def _normalise(text: str) -> str:
    """NFKC (full/half width), case-folded, invisible characters dropped, spaced-out letters joined."""
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE).casefold()
    text = _SPACED_LETTERS.sub(lambda m: re.sub(r"[\s.\-_*·]", "", m.group(0)), text)
    return re.sub(r"\s+", " ", text).strip()


def _contains(text: str, term: str) -> bool:
    norm_text, norm_term = _normalise(text), _normalise(term)
    if not norm_term.isascii():
        # CJK has no word spaces: compare with all spacing and punctuation squeezed out.
        squeeze = lambda s: re.sub(r"[\s\W_]+", "", s)  # noqa: E731
        return squeeze(norm_term) in squeeze(norm_text)
    return re.search(rf"(?<!\w){re.escape(norm_term)}(?!\w)", norm_text) is not None


def _excerpt(text: str, term: str, limit: int = EVIDENCE_CHARS) -> str:
    """At most `limit` characters of text around the term, '…' where it was cut.

    Found in the text as written when it is there case-insensitively; else (spacing, width or
    invisible-character tricks) in its normalised form, which is what the rule matched.
    """
    if len(text) <= limit:
        return text
    found = re.search(re.escape(term), text, re.IGNORECASE)
    if found is None:
        text = _normalise(text)
        found = re.search(re.escape(_normalise(term)), text)
    start, end = found.span() if found else (0, 0)
    room = max(0, limit - 2 - (end - start))  # two characters for the ellipses
    first = max(0, min(start - room // 2, len(text) - (limit - 2)))
    last = min(len(text), first + limit - 2)
    return ("…" if first else "") + text[first:last] + ("…" if last < len(text) else "")


def _terms_for(locale: str, category: str) -> tuple[str, ...]:
    terms = []
    for entry in _load_lists():
        if locale in entry["locales"] or "*" in entry["locales"]:
            if category not in entry.get("except_categories", ()):
                terms.extend(entry["terms"])
    return tuple(dict.fromkeys(terms))


@cache
def _load_lists() -> list[dict]:
    return yaml.safe_load(BANNED_TERMS_FILE.read_text(encoding="utf-8"))
