"""Claim matching on the held-out sets (bench/data/claims_heldout*.yaml): claims and evidence written before the
method round they measure, each measured once after it was frozen (sets 1 and 2 are tuning data since). The figures
docs/knowledge.md quotes must not fall; where they are below the issue's bar (recall@1 >= 0.9, false matches
<= 5 %) the strict xfail says so and turns red the day they reach it, so the bar is then held here too.
Below them: unit tests of the coverage stage (adgen/kb_coverage.py)."""

from __future__ import annotations

import pytest

from bench.knowledge import HELD_OUT, HELD_OUT_2, HELD_OUT_3, held_out_figures

BAR_RECALL, BAR_FALSE_MATCH = 0.9, 0.05
# Measured with e5-small, bigram weight 0.3, the coverage stage and the shipped per-locale thresholds:
# (recall@1 at least, false matches at most) per set and language. Held-out sets 1 and 2 were each measured
# once and have been tuning data since the coverage stage's second round: their floors hold that round's gains.
FLOORS = {
    "claims_heldout": {"en": (0.92, 0.0), "ja": (1.0, 0.0), "zh": (0.92, 0.0)},
    "claims_heldout2": {"en": (1.0, 0.0), "ja": (1.0, 0.0), "zh": (1.0, 0.0)},
    # Measured once, after the second round was frozen: en 0.786 / 0.125, ja 0.923 / 0.045, zh 1.000 / 0.227;
    # then one bug it showed was fixed (the "ok" in "cook" read as a fit-for claim): en 0.857 / 0.125.
    "claims_heldout3": {"en": (0.85, 0.13), "ja": (0.92, 0.05), "zh": (1.0, 0.23)},
}
# Below the bar on held-out 3: same-topic negatives with no load-bearing word ("Non-stick coating" beside an
# uncoated pan, "苏州织造" beside 杭州, "新疆精河枸杞" beside 宁夏中宁) and evidence worded otherwise ("cast in one
# piece of iron" for cast iron, "for as long as you own it" for lifetime, "加えていません" for 無添加).
BELOW_BAR = {("claims_heldout3", "en"), ("claims_heldout3", "zh")}
CASES = [(name, lang) for name in FLOORS for lang in sorted(FLOORS[name])]


@pytest.fixture(scope="module")
def figures():
    return {path.stem: held_out_figures(path) for path in (HELD_OUT, HELD_OUT_2, HELD_OUT_3)}


@pytest.mark.parametrize("held_out, language", CASES)
def test_held_out_figures_do_not_fall(figures, held_out, language):
    recall, false_match = FLOORS[held_out][language]
    measured = figures[held_out][language]
    assert measured["recall_at_1"] >= recall and measured["false_match"] <= false_match, measured


@pytest.mark.parametrize("held_out, language", [
    pytest.param(*case, marks=pytest.mark.xfail(strict=True, reason="below the bar on held-out claims: docs/knowledge.md"))
    if case in BELOW_BAR else case for case in CASES])
def test_held_out_figures_meet_the_bar(figures, held_out, language):
    measured = figures[held_out][language]
    assert measured["recall_at_1"] >= BAR_RECALL and measured["false_match"] <= BAR_FALSE_MATCH, measured


# Stage 2 (adgen/kb_coverage.py): what the claim says must be in the passage, not only its topic.
OATS = "Our oat drink is made from Finnish oats, enzymatically treated and steeped for 18 hours."


@pytest.mark.parametrize("claim, passage, missing", [
    ("18-hour steep", OATS, ()),
    ("Slow-steeped for eighteen hours", OATS, ()),
    ("Keeps ice for 1 day", "Ice stays below 8 °C for 24 hours.", ()),
    ("About 0.2 g of caffeine", "One serving holds about 200 mg of caffeine.", ()),
    ("18時間かけて抽出", "水出しで18時間抽出しています。", ()),
    ("每次窨花十二小时", "每次窨花约12小时。", ()),
    ("Certified organic coffee", "The beans are USDA Organic certified.", ()),
    ("Gluten-free oats", "Our oats contain no gluten: every batch is tested.", ()),
    ("Organic oats", OATS, ("Organic",)),
    ("Recommended by baristas", OATS, ("Recommended",)),
    ("Steeped for 24 hours", OATS, ("24 hours",)),
    ("Steeped for 18 days", OATS, ("18 days",)),
    ("Acid-free oat drink", OATS, ("Acid-free",)),
    ("Rainforest Alliance certified", "Bought through Fair Trade certified cooperatives.", ("Rainforest Alliance",)),
    ("砂糖不使用の羊羹", "小豆と寒天と砂糖だけで練り上げた羊羹です。", ("砂糖不使用",)),
    ("九次窨制", "茶坯与茉莉花经过七次窨制。", ("九次",)),
    ("有机认证", "农药残留符合国家标准。", ("有机", "认证")),
    ("Keeps drinks hot all day", "It kept water cold all day.", ("hot",)),
    # Second round: synonyms as data, durations with a date guard, origin, fitness, polarity, exclusive groups.
    ("Two-year guarantee", "If a pair wears through within two years, we replace it free of charge.", ()),
    ("食洗機OK", "食器洗い乾燥機と電子レンジに対応しています。", ()),
    ("賞味期限1年", "賞味期限は製造日から12か月です。", ()),
    ("賞味期限2年", "賞味期限は製造日から12か月です。", ("2年",)),
    ("2024年の金賞", "2024年のコンテストで金賞を受賞しました。", ()),
    ("品評会で最高賞", "全国茶品評会で農林水産大臣賞を受賞しました。", ()),
    ("Knit in the USA", "Socks are knitted in our own mill in North Carolina, USA.", ()),
    ("Made in Italy", "Each litre contains 45 mg of calcium; nothing is added.", ("Made in Italy",)),
    ("香川県産小麦", "原料は北海道産小麦です。", ("香川県産",)),
    ("Electrolytes added", "Each litre contains 45 mg of calcium; nothing is added.", ("added",)),
    ("No added sugar", "It contains no added sugar.", ()),
    ("オーブン対応", "食器洗い乾燥機と電子レンジに対応しています。", ("オーブン対応",)),
    ("High in protein", "Each 100 ml is fortified with 120 mg of calcium.", ("High in protein",)),
    ("日晒处理", "采用水洗处理，生豆经发酵约36小时后晒干。", ("日晒",)),
    # A Latin "OK" is a fit-for suffix only after CJK: "cook" does not claim fitness for "co".
    ("Ready to cook: three coats of seasoning", "Seasoned with three coats of flaxseed oil, ready to cook.", ()),
])
def test_coverage_names_what_the_passage_does_not_state(claim, passage, missing):
    """In the claim's own words: a finding quotes them."""
    from adgen.kb_coverage import uncovered

    assert uncovered(claim, passage) == missing


def test_the_first_passage_that_states_the_claim_backs_it_unless_the_topic_passage_says_otherwise():
    from adgen.kb_coverage import first_covering

    carton = "The carton is made of FSC-certified board."
    vegan = "The drink contains no animal ingredients."
    assert first_covering("Plant-based oat drink", [carton, vegan]) == (1, ())
    assert first_covering("Organic oats", [OATS, carton]) == (0, ("Organic",))
    # "24 hours" is stated by the flask passage, but the steep passage, the claim's topic, says 18.
    assert first_covering("Steeped for 24 hours", [OATS, "Kept cold for 24 hours."]) == (0, ("24 hours",))


def test_the_rule_names_the_term_the_evidence_lacks():
    from PIL import Image

    from adgen.brand import load_brand
    from adgen.compliance import RULES, CheckSubject, check
    from adgen.formats import get_format
    from adgen.knowledge import KnowledgeBase

    KnowledgeBase("local", "northwind").add_bytes([("oats.md", f"# Oats\n\n{OATS}\n".encode())], "claim-evidence")
    fmt = get_format("ig-square")
    subject = CheckSubject(image=Image.new("RGB", fmt.size.as_tuple()), format=fmt, brand=load_brand("northwind"),
                           claims=("Steeped for 18 hours", "Organic oats"), tenant="local")
    backed, organic = check(subject, tuple(r for r in RULES if r.id == "copy.claim-substantiated")).findings
    assert backed.status == "pass" and backed.measured["uncovered"] == []
    assert organic.status == "fail" and organic.measured["uncovered"] == ["Organic"]
    assert "'Organic' is not in the closest evidence, oats.md" in organic.message
