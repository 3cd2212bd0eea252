"""Automatic fixes: a failing rule may name a fix; the check step tries fixes a bounded number of
times, re-encoding and re-checking after each round, and records every attempt in the report.

Fixes never shorten the copy. They regenerate the plate with the next seed (stray text, nsfw),
re-lay out with a smaller floor that still meets text.min-size (overflow), recolour the text
from the palette or put it on a palette scrim (contrast), or make the file smaller (PNG over the limit: JPEG where the format
takes it, else a palette PNG).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

from PIL import Image, ImageDraw

from adgen.color import Color, contrast_ratio
from adgen.compliance import CheckSubject, Finding, Report, check
from adgen.compliance.claim_rules import spec_claims
from adgen.composition import Composition
from adgen.encoding import Encoded
from adgen.plan import Plan
from adgen.prompt import Prompt
from adgen.request import ResolvedRequest

MAX_ROUNDS = 3   # fix rounds after the first check; each round re-encodes and re-checks
SCRIM_MARGIN = 1.15   # aim above the rule's minimum: the check measures JPEG'd pixels independently


@dataclass(frozen=True)
class Draft:
    """Everything a fix may change, and what was changed (recorded with the asset's recipe)."""

    resolved: ResolvedRequest
    prompt: Prompt
    plate: Image.Image
    composition: Composition
    palette_png: bool = False       # quantise to a 256-colour palette before a PNG encode
    applied: tuple[dict, ...] = ()
    # Renders a new plate for a regenerating fix; None: generation.generate in this process.
    # Batch workers pass one that asks the driver, so the model is only ever loaded there.
    make_plate: Callable[[Prompt, ResolvedRequest, Plan | None], Image.Image] | None = None
    plan: Plan | None = None        # the layout the plate was generated around (pipeline step 3)

    @property
    def pixels(self) -> Image.Image:
        """The pixels to encode."""
        if self.palette_png and self.resolved.file_type == "png":
            return self.composition.image.quantize(256, dither=Image.Dither.NONE).convert("RGB")
        return self.composition.image


@dataclass(frozen=True)
class Fix:
    name: str
    rules: tuple[str, ...]
    stage: int   # 0 regenerates everything, 1 re-lays out, 2 paints on the composition, 3 re-encodes
    function: Callable[[Draft, list[Finding], int], Draft | None]


@dataclass(frozen=True)
class Checked:
    draft: Draft
    encoded: Encoded
    report: Report
    recipe: dict


def check_and_fix(draft: Draft, encode_draft: Callable[[Draft], tuple[dict, Encoded]], *,
                  tenant: str | None = None) -> Checked:
    """Check the encoded draft; while failing rules name a fix (at most MAX_ROUNDS rounds), fix and re-check.

    tenant: whose brand knowledge base backs the claims (CheckSubject.tenant); None skips that rule.
    """
    recipe, encoded = encode_draft(draft)
    report = check(subject_for(draft, encoded, tenant))
    attempts = list(encoded.attempts)
    best = (draft, encoded, recipe, report)
    for round_number in range(1, MAX_ROUNDS + 1):
        chosen = _fixes_for(report)
        if not chosen:
            break
        fixed, tried = draft, []
        for fix, findings in chosen:
            result = fix.function(fixed, findings, round_number)
            tried.append({"fix": fix.name, "rules": sorted({f.rule for f in findings}),
                          "elements": sorted({f.element for f in findings if f.element}), "applied": result is not None})
            if result is not None:
                fixed = replace(result, applied=result.applied + ({"fix": fix.name, "round": round_number},))
        if fixed is draft:
            attempts += [{**t, "round": round_number, "outcome": "no fix available"} for t in tried]
            break
        draft = fixed
        recipe, encoded = encode_draft(draft)
        report = check(subject_for(draft, encoded, tenant))
        still = {f.rule for f in report.failed()}
        attempts += [{**t, "round": round_number, **{k: v for k, v in encoded.attempts[-1].items() if k != "fix"},
                      "outcome": "still failing" if set(t["rules"]) & still else "fixed"} for t in tried]
        # A fix can trade one failure for others (a new seed paints a new plate): ship the draft
        # that failed least, the latest of equals.
        if len(report.failed()) <= len(best[3].failed()):
            best = (draft, encoded, recipe, report)
    draft, encoded, recipe, report = best
    return Checked(draft, encoded, replace(report, attempts=tuple(attempts)), recipe)


def subject_for(draft: Draft, encoded: Encoded, tenant: str | None = None) -> CheckSubject:
    resolved = draft.resolved
    return CheckSubject(image=draft.composition.image, format=resolved.format, brand=resolved.brand,
                        locale=resolved.product.locale, category=resolved.product.category,
                        composition=draft.composition, encoded=encoded.data, file_type=encoded.file_type,
                        claims=spec_claims(resolved.product), tenant=tenant,
                        adapter_note=resolved.adapter_note or None)


def _fixes_for(report: Report) -> list[tuple[Fix, list[Finding]]]:
    """Fixes for this round: a regenerate alone (it redoes everything), else the earliest stage's fixes + encoding."""
    failed = report.failed()
    chosen = [(fix, [f for f in failed if f.rule in fix.rules and _fixable(fix, f)]) for fix in FIXES]
    chosen = [(fix, findings) for fix, findings in chosen if findings]
    if not chosen:
        return []
    first_stage = min(fix.stage for fix, _ in chosen)
    if first_stage == 0:
        return [c for c in chosen if c[0].stage == 0][:1]
    # A re-layout moves every box: painting fixes wait for the next round's findings.
    return [c for c in chosen if c[0].stage == first_stage or c[0].stage == 3]


def _fixable(fix: Fix, finding: Finding) -> bool:
    # label.ai-visible fails for size or overflow too; a scrim only mends its contrast.
    return fix.name != "recolour-or-scrim" or finding.rule != "label.ai-visible" or "contrast" in finding.message


def _next_seed(draft: Draft, findings: list[Finding], round_number: int) -> Draft:
    """A new plate from the next seed; everything downstream is made again from it."""
    from adgen.generation import generate
    from adgen.layout import compose
    from adgen.prompt import build_prompt

    resolved = replace(draft.resolved, seed=(draft.resolved.seed + 1) % 2**31)
    prompt = build_prompt(resolved)
    plate = (draft.make_plate or generate)(prompt, resolved, draft.plan)
    return replace(draft, resolved=resolved, prompt=prompt, plate=plate, composition=compose(plate, resolved))


def _relayout(draft: Draft, findings: list[Finding], round_number: int) -> Draft | None:
    """Overflowing slots get the smallest floor text.min-size allows; from round 2, one more line too."""
    from adgen.compliance.thresholds import threshold
    from adgen.layout import compose

    resolved = draft.resolved
    floor = round(threshold("text.min-size.px", format_id=resolved.format.id, locale=resolved.product.locale,
                            brand_overrides=resolved.brand.thresholds))
    names = {f.element for f in findings}
    slots, changed = [], False
    for slot in resolved.template.slots:
        if slot.name in names:
            relaxed = replace(slot, min_px=min(slot.min_px, floor),
                              max_lines=slot.max_lines + (1 if round_number >= 2 else 0))
            changed = changed or relaxed != slot
            slot = relaxed
        slots.append(slot)
    if not changed:
        return None
    resolved = replace(resolved, template=replace(resolved.template, slots=tuple(slots)))
    return replace(draft, resolved=resolved, composition=compose(draft.plate, resolved))


def _recolour_or_scrim(draft: Draft, findings: list[Finding], round_number: int) -> Draft | None:
    """Low-contrast text: another palette text colour if one reads on what is behind it, else a palette scrim."""
    image = draft.composition.image.copy()
    layers = {layer.name: layer for layer in draft.composition.layers}
    palette = list(draft.resolved.brand.colors.values())
    neutrals = [Color(0, 0, 0), Color(255, 255, 255)]
    for name in sorted({f.element for f in findings if f.element}):
        layer = layers.get(name)
        if layer is None or layer.glyph_mask is None:
            continue
        needed = max(_contrast_threshold(f) for f in findings if f.element == name) * SCRIM_MARGIN
        recoloured = _recolour(image, layer, palette + neutrals, needed)
        if recoloured is not None:
            image, text = recoloured
            layers[name] = replace(layer, color=text.hex, notes=layer.notes + (f"recoloured {text.hex} by the contrast fix",))
            continue
        text, scrim = _colour_pair(palette, neutrals, needed)
        pad = max(3, round((layer.font_size_px or 12) * 0.3))
        ImageDraw.Draw(image).rounded_rectangle(layer.box.expand(pad).as_tuple(), radius=pad, fill=scrim.as_tuple())
        image.paste(Image.new("RGB", layer.glyph_mask.size, text.as_tuple()), layer.box.as_tuple()[:2], layer.glyph_mask)
        layers[name] = replace(layer, color=text.hex, scrim=scrim.hex,
                               contrast_ratio=round(contrast_ratio(text.as_tuple(), scrim.as_tuple()), 3),
                               notes=layer.notes + (f"scrim {scrim.hex} added by the contrast fix",))
    if layers == {layer.name: layer for layer in draft.composition.layers}:
        return None
    composition = replace(draft.composition, image=image,
                          layers=tuple(layers[layer.name] for layer in draft.composition.layers))
    return replace(draft, composition=composition)


def _contrast_threshold(finding: Finding) -> float:
    # label.ai-visible's threshold holds the font size too.
    return finding.threshold["contrast"] if isinstance(finding.threshold, dict) else float(finding.threshold)


def _recolour(image: Image.Image, layer, candidates: list[Color], needed: float):
    """The first candidate (palette first) whose glyphs, repainted, measure `needed` on the real pixels."""
    from adgen.compliance.text_rules import measure_contrast

    for colour in candidates:
        trial = image.copy()
        trial.paste(Image.new("RGB", layer.glyph_mask.size, colour.as_tuple()), layer.box.as_tuple()[:2], layer.glyph_mask)
        ratio = measure_contrast(trial, layer.box, layer.glyph_mask, colour.hex)
        if ratio is not None and ratio >= needed:
            return trial, colour
    return None


def _colour_pair(palette: list[Color], neutrals: list[Color], needed: float) -> tuple[Color, Color]:
    """Text and scrim colours: both from the palette if a pair reaches `needed`, then with one neutral, else the best."""
    ratio = lambda pair: contrast_ratio(pair[0].as_tuple(), pair[1].as_tuple())  # noqa: E731
    for pool in (palette, palette + neutrals):
        pairs = [(t, s) for t in pool for s in pool if t != s and ratio((t, s)) >= needed]
        if pairs:
            return max(pairs, key=lambda p: (p[1] in palette, ratio(p)))
    everything = palette + neutrals
    return max(((t, s) for t in everything for s in everything if t != s), key=ratio)


def _smaller_file(draft: Draft, findings: list[Finding], round_number: int) -> Draft | None:
    """PNG over the limit: JPEG where the format takes it (encoding then steps quality), else a palette PNG."""
    resolved = draft.resolved
    if resolved.file_type == "png" and "jpeg" in resolved.format.file_types:
        return replace(draft, resolved=replace(resolved, file_type="jpeg"))
    if resolved.file_type == "png" and not draft.palette_png:
        return replace(draft, palette_png=True)
    return None  # JPEG already stepped down its quality ladder in adgen.encoding


# The registry: which failing rule names which fix.
FIXES: tuple[Fix, ...] = (
    Fix("next-seed", ("background.stray-text", "safety.nsfw"), 0, _next_seed),
    Fix("relayout", ("text.overflow",), 1, _relayout),
    Fix("recolour-or-scrim", ("text.contrast", "label.ai-visible"), 2, _recolour_or_scrim),
    Fix("smaller-file", ("format.file-size",), 3, _smaller_file),
)
