"""Check stage: every rule in the registry over one subject -> a Report of findings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from adgen.compliance import (adapter_rules, amazon_rules, artwork_rules, claim_rules, copy_rules, format_rules,
                              grounding_rules, marketplace_rules, ocr_rules, palette_rules, provenance_rules,
                              safety_rules, text_rules)
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
    Rule("text.legible", "error", ocr_rules.legible, "OCR of each placed box reads the intended string"),
    Rule("text.overflow", "error", text_rules.overflow, "copy fits its slot or is reported"),
    Rule("copy.banned-terms", "error", copy_rules.banned_terms, "no banned terms (locale, category, brand)"),
    Rule("copy.required-disclaimer", "error", copy_rules.required_disclaimer,
         "required disclaimers verbatim, legible, with contrast"),
    Rule("copy.claim-substantiated", "error", claim_rules.claim_substantiated,
         "each claim and feature backed by the brand's claim evidence (adgen kb)"),
    Rule("background.stray-text", "error", ocr_rules.stray_text, "OCR finds no text in the generated plate"),
    Rule("brand.palette", "warning", palette_rules.palette, "brand colours within CIEDE2000 of the palette"),
    Rule("brand.adapter", "warning", adapter_rules.adapter, "the kit's LoRA adapter applied, or why not (other base)"),
    Rule("brand.logo-present", "error", artwork_rules.logo_present, "the kit's logo pixels at the logo box"),
    Rule("brand.logo-size", "error", artwork_rules.logo_size, "logo at least the kit's minimum width"),
    Rule("brand.logo-clearspace", "error", artwork_rules.logo_clearspace, "nothing inside the logo's clear space"),
    Rule("brand.mark-present", "error", artwork_rules.mark_present, "certification marks' own pixels, allowed marks"),
    Rule("product.fidelity", "error", artwork_rules.product_fidelity, "product region SSIM against the cut-out"),
    Rule("product.grounded", "error", grounding_rules.grounded,
         "the product stands on the plate: darker band under its base than beside it (L*)"),
    Rule("product.halo", "error", grounding_rules.halo, "no halo or fringe in the cut-out's edge ring (dE76)"),
    Rule("product.cutout", "warning", artwork_rules.product_cutout,
         "a product photo without alpha is cut out (else framed, saying why)"),
    Rule("safety.nsfw", "error", safety_rules.nsfw, "no exposed-body detection (nudenet)"),
    Rule("label.ai-visible", "error", text_rules.ai_label_visible, "a legible visible AI label"),
    Rule("label.ai-metadata", "error", provenance_rules.ai_metadata, "C2PA valid, IPTC and TC260 AI labels in XMP"),
    Rule("marketplace.white-background", "error", marketplace_rules.white_background, "pure white off the product"),
    Rule("marketplace.product-fill", "error", marketplace_rules.product_fill, "product fills 85% of the frame"),
    Rule("marketplace.no-text", "error", marketplace_rules.no_text, "no overlay text (text on the pack is the pack's)"),
    Rule("marketplace.min-side", "error", amazon_rules.min_side, "longest side >= 1000 px (zoom)"),
    Rule("marketplace.no-border", "error", amazon_rules.no_border, "no border around the picture"),
    Rule("marketplace.no-inset", "error", amazon_rules.no_inset, "no inset picture or second view"),
    Rule("marketplace.no-watermark", "error", amazon_rules.no_watermark, "no text laid across the product"),
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
