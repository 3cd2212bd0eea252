"""brand.adapter: the brand's LoRA adapter shaped the plate, or the asset says why it did not."""

from __future__ import annotations

from adgen.compliance.report import Finding
from adgen.compliance.subject import CheckSubject

RULE = "brand.adapter"


def adapter(subject: CheckSubject) -> list[Finding]:
    """Warn when the kit's adapter was not applied (not trained yet, or trained on another base model)."""
    if not subject.placed:
        return [Finding(RULE, "skip", "warning", "not a plate adgen generated")]
    if subject.adapter_note:
        return [Finding(RULE, "warn", "warning", subject.adapter_note, measured="not applied", threshold="applied")]
    return [Finding(RULE, "pass", "warning", "the kit's adapter was applied, or the kit has none",
                    measured="applied or none", threshold="applied")]
