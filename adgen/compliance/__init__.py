"""Check stage: every rule in the registry over one subject -> a Report of findings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from adgen.compliance import copy_rules, format_rules, text_rules
from adgen.compliance.report import Finding, Report
from adgen.compliance.subject import CheckSubject


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str
    function: Callable[[CheckSubject], list[Finding]]
    summary: str


# The registry: adding a rule is adding a row.
RULES: tuple[Rule, ...] = (
    Rule("format.size", "error", format_rules.size, "image is exactly the format's pixel size"),
    Rule("format.file-type", "error", format_rules.file_type, "encoding is one the format accepts"),
    Rule("format.file-size", "error", format_rules.file_size, "shipped bytes fit the slot's KB limit"),
    Rule("layout.safe-zone", "error", format_rules.safe_zone, "copy, logo and marks inside the safe area"),
    Rule("text.contrast", "error", text_rules.contrast, "WCAG 2.x contrast, unrounded, on final pixels"),
    Rule("text.min-size", "error", text_rules.min_size, "no text below the readable floor"),
    Rule("text.overflow", "error", text_rules.overflow, "copy fits its slot or is reported"),
    Rule("copy.banned-terms", "error", copy_rules.banned_terms, "no banned terms (locale, category, brand)"),
    Rule("copy.required-disclaimer", "error", copy_rules.required_disclaimer, "required disclaimers verbatim"),
    Rule("label.ai-visible", "error", text_rules.ai_label_visible, "a legible visible AI label"),
)


def check(subject: CheckSubject, rules: tuple[Rule, ...] = RULES) -> Report:
    """Run each rule; a rule that crashes is itself a failing finding, never a lost report."""
    findings: list[Finding] = []
    for rule in rules:
        try:
            findings.extend(rule.function(subject))
        except Exception as exc:  # a broken rule must not hide the others' evidence
            findings.append(Finding(rule.id, "fail", rule.severity, f"rule crashed: {type(exc).__name__}: {exc}"))
    return Report(findings=tuple(findings))


__all__ = ["RULES", "Rule", "check", "CheckSubject", "Finding", "Report"]
