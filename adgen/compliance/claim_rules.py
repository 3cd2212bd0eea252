"""Claim rules: each marketing claim matched against the brand's claim evidence (adgen kb --kind claim-evidence).

Advertising law wants the evidence before a claim runs (FTC substantiation, 景品表示法, the EU's
Unfair Commercial Practices Directive); the evidence of a finding is the best passage, its
score, file and page. A brand without a knowledge base skips the rule, as before it existed.
"""

from __future__ import annotations

import re

from adgen.compliance.report import Finding
from adgen.compliance.subject import CheckSubject
from adgen.kb_coverage import first_covering

RULE = "copy.claim-substantiated"
# Stage 1 ranks passages by score; stage 2 (adgen.kb_coverage) takes the first of this many best that states
# every load-bearing term and quantity of the claim ("organic", "18 hours"), so a passage on the claim's
# topic that does not say what the claim says backs nothing.
CANDIDATES = 5
PASSAGE_CHARS = 160  # a finding carries this much of the evidence passage
QUOTE_CHARS = 90  # and quotes this much of it in its message
# A copy sentence with a figure in it ("Slow-steeped for 18 hours.", "Hot for 12 hours.") states a
# fact someone must be able to back; other copy ("Smooth cold brew, ready when you are") is not checked.
_FIGURE = re.compile(r"[0-9０-９]")
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s*")


def spec_claims(product) -> tuple[str, ...]:
    """What the rule checks for a product spec: its claims and features, and copy sentences with figures."""
    return tuple(dict.fromkeys(product.claims + product.features + claim_like_sentences(product.headline, product.subhead)))


def claim_like_sentences(*texts: str | None) -> tuple[str, ...]:
    """The sentences of copy (headline, subhead) that carry a figure: claims, though not listed as such."""
    sentences = (s.strip() for text in texts if text for s in _SENTENCE_END.split(text))
    return tuple(s for s in sentences if s and _FIGURE.search(s))


def claim_substantiated(subject: CheckSubject) -> list[Finding]:
    """copy.claim-substantiated: every claim and feature has a claim-evidence passage scoring at least the
    threshold that states each of the claim's load-bearing terms and quantities."""
    from adgen.knowledge import existing

    kb = existing(subject.tenant, subject.brand.id) if subject.tenant is not None else None
    if kb is None:
        return [Finding(RULE, "skip", "error", f"brand {subject.brand.id} has no knowledge base (adgen kb add)")]
    if not subject.claims:
        return [Finding(RULE, "pass", "error", "no claims or features to substantiate", measured=0, threshold=0)]
    minimum = subject.threshold(f"{RULE}.min_score")
    below = subject.brand.unsubstantiated_claims  # fail | warn, the brand's choice
    findings = []
    for claim in dict.fromkeys(subject.claims):
        hits = kb.search(claim, k=CANDIDATES, kind="claim-evidence")
        if not hits:
            findings.append(Finding(RULE, below, "error", f"no claim evidence in the knowledge base for {claim!r}",
                                    measured={"claim": claim, "score": 0.0}, threshold=minimum, element="claims"))
            continue
        chosen, missing = first_covering(claim, [h.passage.text for h in hits])
        best = hits[chosen]
        evidence = {"claim": claim, "score": round(best.score, 3), "source": best.passage.source,
                    "page": best.passage.page, "heading": best.passage.heading,
                    "passage": best.passage.text[:PASSAGE_CHARS], "uncovered": list(missing)}
        backed = best.score >= minimum and not missing
        findings.append(Finding(RULE, "pass" if backed else below, "error", _message(claim, best, minimum, missing),
                                measured=evidence, threshold=minimum, element="claims"))
    return findings


def _message(claim: str, best, minimum: float, missing: tuple[str, ...]) -> str:
    """What the finding says: the passage that backs the claim, or why the closest one does not."""
    where = best.passage.source + (f" p. {best.passage.page}" if best.passage.page else "")
    text = best.passage.text
    quote = text if len(text) <= QUOTE_CHARS else text[:QUOTE_CHARS - 1] + "…"
    if missing:
        terms = ", ".join(f"{t!r}" for t in missing)
        return (f"{claim!r} not substantiated: {terms} {'is' if len(missing) == 1 else 'are'} not in the closest "
                f"evidence, {where} ({best.score:.2f}): “{quote}”")
    if best.score < minimum:
        return (f"{claim!r} not substantiated: the closest evidence, {where}, scores {best.score:.2f} "
                f"< {minimum:g}: “{quote}”")
    return f"{claim!r} substantiated by {where} ({best.score:.2f}): “{quote}”"
