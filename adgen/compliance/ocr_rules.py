"""OCR rules: placed copy reads back as written; the generated plate carries no text of its own."""

from __future__ import annotations

from adgen.compliance.report import Finding
from adgen.compliance.subject import CheckSubject
from adgen.ocr import character_error_rate, locale_supported


def legible(subject: CheckSubject) -> list[Finding]:
    """text.legible: OCR of each placed box (a crop, on the final pixels) against the intended string."""
    if not subject.placed:
        return [Finding("text.legible", "skip", "error", "no placed text to compare: image was not laid out by adgen")]
    if not locale_supported(subject.locale):
        # The bundled recogniser does not read this script (Korean, for one): say so, never guess.
        return [Finding("text.legible", "skip", "error", f"unverifiable: OCR does not read {subject.locale}",
                        element=layer.name, box=layer.box) for layer in subject.composition.text_layers]
    findings = [legibility_finding(subject, layer) for layer in subject.composition.text_layers]
    return findings or [Finding("text.legible", "pass", "error", "no text placed")]


def legibility_finding(subject: CheckSubject, layer, rule: str = "text.legible") -> Finding:
    """One layer's OCR round trip: character error rate <= max_cer and recognition score >= min_score."""
    max_cer, min_score = subject.threshold("text.legible.max_cer"), subject.threshold("text.legible.min_score")
    read = subject.read_layer(layer)
    cer = character_error_rate(layer.text or "", read.text)
    ok = cer <= max_cer and read.score >= min_score
    return Finding(rule, "pass" if ok else "fail", "error",
                   f"OCR read {read.text!r}: CER {cer:.3f}, score {read.score:.2f}",
                   measured={"cer": round(cer, 4), "score": round(read.score, 3), "read": read.text},
                   threshold={"max_cer": max_cer, "min_score": min_score}, element=layer.name, box=layer.box)


def stray_text(subject: CheckSubject) -> list[Finding]:
    """background.stray-text: full OCR detection on the generated plate, before any copy went on."""
    if not subject.placed:
        return [Finding("background.stray-text", "skip", "error", "no separate plate: image was not laid out by adgen")]
    min_score = subject.threshold("background.stray-text.min_score")
    min_chars = subject.threshold("background.stray-text.min_chars")
    lines = [line for line in _detect(subject.composition.plate, min_score)
             if len("".join(line.text.split())) >= min_chars]
    if not lines:
        return [Finding("background.stray-text", "pass", "error", "no text found in the generated plate",
                        measured=0, threshold={"min_score": min_score, "min_chars": min_chars})]
    return [Finding("background.stray-text", "fail", "error", f"the plate shows text {line.text!r}",
                    measured={"text": line.text, "score": round(line.score, 3)},
                    threshold={"min_score": min_score, "min_chars": min_chars}, element="plate", box=line.box)
            for line in lines]


def _detect(image, min_score):
    from adgen.ocr import detect_text

    return detect_text(image, min_score=min_score)
