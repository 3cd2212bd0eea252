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


def banned_terms(subject: CheckSubject) -> list[Finding]:
    """copy.banned-terms: every banned term found in any copy string or placed text."""
    terms = _terms_for(subject.locale, subject.category) + subject.brand.banned_terms_for(subject.locale)
    findings = []
    for element, text in _copy_texts(subject).items():
        hits = [term for term in terms if _contains(text, term)]
        for term in hits:
            findings.append(Finding("copy.banned-terms", "fail", "error",
                                    f"banned term {term!r} in {element}", measured=text, threshold=term,
                                    element=element, box=_box_of(subject, element)))
    if not findings:
        findings.append(Finding("copy.banned-terms", "pass", "error",
                                f"none of {len(terms)} banned terms found", measured=0, threshold=0))
    return findings


def required_disclaimer(subject: CheckSubject) -> list[Finding]:
    """copy.required-disclaimer: each disclaimer the kit requires appears verbatim."""
    required = subject.brand.disclaimers_for(subject.category, subject.locale)
    if not required:
        return [Finding("copy.required-disclaimer", "pass", "error",
                        f"no disclaimer required for {subject.category} in {subject.locale}")]
    placed = _copy_texts(subject).get("disclaimer", "")
    findings = []
    for text in required:
        present = _normalise(text) in _normalise(placed)
        findings.append(Finding("copy.required-disclaimer", "pass" if present else "fail", "error",
                                "required disclaimer present" if present else f"required disclaimer missing: {text!r}",
                                measured=placed or None, threshold=text, element="disclaimer",
                                box=_box_of(subject, "disclaimer")))
    return findings


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
