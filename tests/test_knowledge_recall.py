"""Claim matching on the held-out set (bench/data/claims_heldout.yaml): claims and evidence written after the
thresholds were chosen on the tuning set, never used to choose them. The figures docs/knowledge.md quotes must
not fall; where they are below the issue's bar (recall@1 >= 0.9, false matches <= 5 %) the strict xfail says so
and turns red the day they reach it, so the bar is then held here too."""

from __future__ import annotations

import pytest

from bench.knowledge import held_out_figures

BAR_RECALL, BAR_FALSE_MATCH = 0.9, 0.05
# Measured on the held-out set with e5-small, bigram weight 0.3 and the shipped per-locale thresholds.
FLOORS = {"en": (0.78, 0.23), "ja": (1.0, 0.15), "zh": (0.92, 0.0)}  # (recall@1 at least, false matches at most)
BELOW_BAR = {"en", "ja"}  # hard same-topic negatives ("Organic oats" beside oat evidence) score like paraphrases


@pytest.fixture(scope="module")
def figures():
    return held_out_figures()


@pytest.mark.parametrize("language", sorted(FLOORS))
def test_held_out_figures_do_not_fall(figures, language):
    recall, false_match = FLOORS[language]
    assert figures[language]["recall_at_1"] >= recall, figures[language]
    assert figures[language]["false_match"] <= false_match, figures[language]


@pytest.mark.parametrize("language", [
    pytest.param(lang, marks=pytest.mark.xfail(strict=True, reason="below the bar on held-out claims: docs/knowledge.md"))
    if lang in BELOW_BAR else lang for lang in sorted(FLOORS)])
def test_held_out_figures_meet_the_bar(figures, language):
    assert figures[language]["recall_at_1"] >= BAR_RECALL and figures[language]["false_match"] <= BAR_FALSE_MATCH, \
        figures[language]
