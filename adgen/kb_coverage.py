"""Claim coverage: the claim's load-bearing terms and quantities each stated by the evidence passage.

copy.claim-substantiated's second stage. A sentence model scores "Organic oats" close to a passage
about oats, because the topic is the same; what makes the claim a claim — "organic", "18 hours",
"No.1", "砂糖不使用" — must be in the passage itself. The terms are data (adgen/data/claim_terms.yaml:
certifications, free-from claims, absolutes, rankings, endorsements, health effects, awards, each
with the words that state it in en/ja/zh); quantities are compared by value after unit conversion
("18-hour" ↔ "18 hours" ↔ "18時間" ↔ "十八小时"; "24 hours" ↔ "1 day"). Hand-written: no installed
package reads quantities with CJK numerals and units, and the term table is the brand lawyer's
vocabulary, which must be readable and extendable as data.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

TERMS_FILE = Path(__file__).resolve().parent / "data" / "claim_terms.yaml"
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]")
_CJK_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "两": 2, "兩": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
               "八": 8, "九": 9}
_CJK_POWERS = {"十": 10, "百": 100, "千": 1000}
_FREE_FROM = re.compile(r"(?<![a-z0-9])([a-z]+) free(?![a-z])")


def uncovered(claim: str, passage: str) -> tuple[str, ...]:
    """The claim's load-bearing terms and quantities (as the claim words them) that the passage does not state."""
    table = _table()
    said, evidence = _normal(claim), _normal(passage)
    missing, spans = [], []
    # A term inside a longer one's words is that term's ("最高" in "最高賞" is the award's, not a superlative).
    found_terms = [(term, f) for term in table.terms if (f := term.claim_pattern.search(said))]
    for term, found in sorted(found_terms, key=lambda tf: tf[1].end() - tf[1].start(), reverse=True):
        a, b = found.span()
        if any(x <= a and b <= y for x, y in spans):
            continue
        spans.append(found.span())
        if not term.evidence_pattern.search(evidence):
            missing.append(_as_written(claim, found.group(0)))
    # A place the claim says the product is made in, grown in or comes from (産) must be the passage's.
    for words, place in _places(said):
        if not _place_pattern(place).search(evidence):
            missing.append(_as_written(claim, words))
    # What the claim says the product is fit for ("oven-safe", "電子レンジ対応") the passage must name.
    for words, thing in _fit_for(said):
        if any(t.claim_pattern.search(thing) for t in table.terms):
            continue  # a term ("dishwasher") is checked as that term, above
        if not _alternation([thing]).search(evidence):
            missing.append(_as_written(claim, words))
    # A positive word the passage negates ("Electrolytes added" beside "nothing is added").
    for words in _negated(said, evidence):
        missing.append(_as_written(claim, words))
    # Any other "X-free" claim ("acid-free", "BPA-free") needs the passage to say the product is free of X.
    for found in _FREE_FROM.finditer(said):
        if any(a <= found.start() < b for a, b in spans):
            continue
        spans.append(found.span())
        if not _free_of(found.group(1)).search(evidence):
            missing.append(_as_written(claim, found.group(0)))
    # A word whose opposite the passage uses instead ("hot" beside "cold") is not stated by it.
    for claimed, opposite in table.opposites:
        found = claimed.search(said)
        if found and not opposite.search(said) and opposite.search(evidence) and not claimed.search(evidence):
            missing.append(_as_written(claim, found.group(0)))
    # A number inside a term ("No.1", "0 kcal", "100%") belongs to the term, not to the quantities.
    rest = "".join(" " if any(a <= i < b for a, b in spans) else ch for i, ch in enumerate(said))
    stated = _quantities(evidence)
    for words, quantity in _quantity_spans(rest):
        if not _stated(quantity, stated):
            missing.append(_as_written(claim, words))
    return tuple(dict.fromkeys(missing))


def first_covering(claim: str, passages: list[str]) -> tuple[int, tuple[str, ...]]:
    """Of passages in score order: the first that states everything the claim says, and nothing missing;
    when none does, the first (the best-scoring) with what it does not state. (-1, ()) without passages."""
    if not passages:
        return -1, ()
    first_missing = uncovered(claim, passages[0])
    if not first_missing:
        return 0, ()
    if contradicted(claim, passages[0]):  # the passage on the claim's topic says otherwise: no other one backs it
        return 0, first_missing
    for i, passage in enumerate(passages[1:], start=1):
        if not uncovered(claim, passage):
            return i, ()
    return 0, first_missing


def contradicted(claim: str, passage: str) -> bool:
    """The passage states another amount of what the claim quantifies ("18 hours" for "24 hours") or the
    opposite word ("cold" for "hot"): then it is the claim's evidence, and it does not back it."""
    table = _table()
    said, evidence = _normal(claim), _normal(passage)
    if any(c.search(said) and not o.search(said) and o.search(evidence) and not c.search(evidence)
           for c, o in table.opposites):
        return True
    if _negated(said, evidence):
        return True
    stated = _quantities(evidence)
    return any(dimension and any(d == dimension for d, _ in stated) and not _stated((dimension, value), stated)
               for _, (dimension, value) in _quantity_spans(said))


@dataclass(frozen=True)
class _Term:
    name: str
    claim_pattern: re.Pattern
    evidence_pattern: re.Pattern


@dataclass(frozen=True)
class _Table:
    terms: tuple[_Term, ...]
    number_pattern: re.Pattern      # a number (digits, number words, CJK numerals) and an optional unit
    units: dict[str, tuple[str, float]]  # unit form -> (dimension, factor to the dimension's base unit)
    number_words: dict[str, float]
    opposites: tuple[tuple[re.Pattern, re.Pattern], ...]
    origin: re.Pattern              # "made in X" (group place), "X産" (group cjk_place)
    places: dict[str, tuple[str, ...]]   # a place -> every name for it ("usa" -> "united states", "american")
    fit_for: re.Pattern             # "X safe", "X対応" (group thing)
    polarity: tuple[tuple[re.Pattern, re.Pattern], ...]  # (positive word, the passage's negation of it)
    claim_negators: re.Pattern      # a claim with one of these is not a positive claim ("no added sugar")
    date_units: frozenset[str]      # a number >= date_min before one of these is a calendar year (2024年)
    date_min: float


@cache
def _table() -> _Table:
    data = yaml.safe_load(TERMS_FILE.read_text(encoding="utf-8"))
    terms = tuple(_Term(name, _alternation(spec["forms"]), _alternation(spec["forms"] + spec.get("backed_by", [])))
                  for name, spec in data["terms"].items())
    # A member of an exclusive group (a variety, a process, a storage) is load-bearing too: the passage must name it.
    terms += tuple(_Term(str(m), _alternation([m]), _alternation([m])) for group in data.get("exclusive", [])
                   for m in group)
    units = {}
    for name, spec in data["units"].items():
        for form in spec["forms"]:
            units[_normal(str(form))] = (spec.get("per", name), float(spec["scale"]))
    words = {_normal(k): float(v) for k, v in data["number_words"].items()}
    latin_units = sorted((u for u in units if not _CJK.search(u)), key=len, reverse=True)
    cjk_units = sorted((u for u in units if _CJK.search(u)), key=len, reverse=True)
    unit = ("(?:" + "|".join(re.escape(u) + r"(?![a-z])" for u in latin_units) + "|"
            + "|".join(map(re.escape, cjk_units)) + ")")
    number = (r"(?<![\d.])\d+(?:,\d{3})*(?:\.\d+)?"
              + r"|\b(?:" + "|".join(map(re.escape, sorted(words, key=len, reverse=True))) + rf")\b(?=\s?{unit})"
              + r"|[〇零一二三四五六七八九两兩十百千]+(?=\s?(?:" + "|".join(map(re.escape, cjk_units)) + "))")
    pattern = re.compile(rf"(?P<number>{number})(?:\s?(?P<unit>{unit}))?")
    pairs = [tuple(pair) for pair in data["opposites"]]
    # Exclusive groups: each member is the opposite of every other (washed / natural process / honey process).
    pairs += [(a, b) for group in data.get("exclusive", []) for a in group for b in group if a != b]
    opposites = tuple((_alternation([a]), _alternation([b])) for a, b in pairs)
    origin = data["origin"]
    stop = "|".join(map(re.escape, origin["stop"]))
    place_word = rf"(?!(?:{stop})\b)[a-z][a-z.]*"
    origin_pattern = re.compile(
        r"(?<![a-z])(?:" + "|".join(map(re.escape, origin["verbs"])) + r")(?: [a-z]+){0,3}? in (?:the )?"
        + rf"(?P<place>{place_word}(?: {place_word}){{0,2}})"
        + r"|(?P<cjk_place>[\u4e00-\u9fff]{2,})(?:" + "|".join(map(re.escape, origin["cjk_after"])) + ")"
        + r"|(?:" + "|".join(map(re.escape, origin["cjk_before"])) + r")(?P<cjk_place2>[\u4e00-\u9fff]{2,4})")
    places = {}
    for group in data["places"]:
        names = tuple(_normal(str(n)) for n in group)
        for name in names:
            places[name] = names
    fit = data["fit_for"]
    fit_pattern = re.compile(
        r"(?P<thing>[a-z]+) (?:" + "|".join(map(re.escape, fit["after_word"])) + r")(?![a-z])"
        + r"|(?<![a-z])(?:" + "|".join(map(re.escape, fit["before_word"])) + r") (?P<nutrient>[a-z]+)"
        + r"|(?P<cjk_thing>[\u30a0-\u30ff\u4e00-\u9fffa-z]+)(?:" + "|".join(map(_after_cjk, fit["after_cjk"])) + ")")
    polarity = tuple((_alternation([p["word"]]), _alternation(p["negated"])) for p in data["polarity"])
    negators = _alternation(data["claim_negators"])
    return _Table(terms, pattern, units, words, opposites, origin_pattern, places, fit_pattern, polarity, negators,
                  frozenset(_normal(u) for u in data["dates"]["units"]), float(data["dates"]["min"]))


def _after_cjk(suffix: str) -> str:
    """A Latin suffix ("OK") counts only straight after a CJK character and as a whole word: "食洗機OK", not
    the "ok" in "cook"."""
    if re.fullmatch(r"[a-z]+", suffix):
        return r"(?<=[\u30a0-\u30ff\u4e00-\u9fff])" + re.escape(suffix) + r"(?![a-z])"
    return re.escape(suffix)


def _alternation(forms: list) -> re.Pattern:
    """One pattern for a term's forms: Latin ones as whole words or phrases (-s/-es may follow), CJK anywhere."""
    parts = []
    for form in sorted({_normal(str(f)) for f in forms}, key=len, reverse=True):
        if _CJK.search(form):
            parts.append(re.escape(form))
        else:
            parts.append(r"(?<![a-z0-9])" + re.escape(form) + r"(?:e?s)?(?![a-z0-9])")
    return re.compile("|".join(parts))


@cache
def _free_of(thing: str) -> re.Pattern:
    """How a passage says a product is free of a thing: "acid free", "free of acid", "no acid", "without acids"."""
    word = re.escape(thing) + r"(?:e?s)?"
    return re.compile(rf"(?<![a-z0-9])(?:{word} free|(?:free (?:of|from)|no|zero|without|contains no) {word})(?![a-z])")


def _places(said: str) -> list[tuple[str, str]]:
    """(the claim's words, the place) for each place of make or growth the claim names."""
    out = []
    for found in _table().origin.finditer(said):
        place = found.group("place") or found.group("cjk_place") or found.group("cjk_place2")
        out.append((found.group(0), place.strip(" .")))
    return out


@cache
def _place_pattern(place: str) -> re.Pattern:
    """A passage names a place by any of its names ("USA", "United States", "American")."""
    return _alternation(list(_table().places.get(place, (place,))))


def _fit_for(said: str) -> list[tuple[str, str]]:
    return [(found.group(0), found.group("thing") or found.group("nutrient") or found.group("cjk_thing")) for found in _table().fit_for.finditer(said)]


def _negated(said: str, evidence: str) -> list[str]:
    """The claim's positive words ("added") that the passage states in the negative ("nothing is added")."""
    table = _table()
    if table.claim_negators.search(said):
        return []
    return [found.group(0) for word, negation in table.polarity
            if (found := word.search(said)) and negation.search(evidence)]


def _as_written(claim: str, found: str) -> str:
    """The claim's own words for what was found in its normal form ("No.1" for "no.1", "Gluten-free")."""
    pattern = r"[\s\-‐–]+".join(map(re.escape, found.strip().split(" ")))
    written = re.search(pattern, unicodedata.normalize("NFKC", claim), re.IGNORECASE)
    return written.group(0) if written else found.strip()


def _normal(text: str) -> str:
    """NFKC, case-folded, hyphens and slashes between words as spaces, runs of spaces as one."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = re.sub(r"(?<=[^\W\d])[-‐–](?=\w)|(?<=\d)[-‐–](?=[^\W\d])", " ", text)
    return re.sub(r"\s+", " ", text)


def _quantity_spans(text: str) -> list[tuple[str, tuple[str, float]]]:
    """(the words, (dimension or "", value in the base unit)) for each number in text."""
    table = _table()
    out = []
    for found in table.number_pattern.finditer(text):
        value = _value(found.group("number"), table.number_words)
        if value is None:
            continue
        unit = found.group("unit")
        dimension, factor = table.units[unit] if unit else ("", 1.0)
        if unit in table.date_units and value >= table.date_min:  # 2024年: a date, not 2024 years
            dimension, factor = "date", 1.0
        out.append((found.group(0).strip(), (dimension, value * factor)))
    return out


def _quantities(text: str) -> list[tuple[str, float]]:
    return [q for _, q in _quantity_spans(text)]


def _stated(quantity: tuple[str, float], stated: list[tuple[str, float]]) -> bool:
    """A quantity with a unit needs the same amount in the same dimension; a bare number, the same number."""
    dimension, value = quantity
    return any(abs(v - value) <= 1e-6 * max(1.0, abs(value)) and (not dimension or d == dimension)
               for d, v in stated)


def _value(number: str, words: dict[str, float]) -> float | None:
    if number[0].isdigit():
        return float(number.replace(",", ""))
    if number in words:
        return words[number]
    return _cjk_value(number)


def _cjk_value(numeral: str) -> float | None:
    """十二 -> 12, 二十四 -> 24, 一百 -> 100, 七 -> 7 (up to thousands: quantities in claims)."""
    total, digit = 0, None
    for ch in numeral:
        if ch in _CJK_DIGITS:
            digit = _CJK_DIGITS[ch] if digit is None else digit * 10 + _CJK_DIGITS[ch]
        elif ch in _CJK_POWERS:
            total += (1 if digit is None else digit) * _CJK_POWERS[ch]
            digit = None
        else:
            return None
    return float(total + (digit or 0))
