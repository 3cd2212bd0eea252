"""Fonts from PyPI font packages only (never system fonts), chosen per script.

Latin comes from `fontpkg-noto-sans`; Japanese, Chinese and Korean from
`justmytype-intl-cjk`. Both ship variable fonts, so a weight is an axis value, not a file.
"""

from __future__ import annotations

import functools
import json
import unicodedata
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import ImageFont, features

from adgen.errors import NotFoundError


@dataclass(frozen=True)
class FontSpec:
    """A font request: a packaged family, or a brand's own file, at a weight (100-900)."""

    family: str = "Noto Sans"
    weight: int = 400
    file: Path | None = None


# Scripts adgen typesets, and the packaged family that covers each, in fallback order.
# A brand font is tried first and kept only if its cmap covers the script's probe text.
SCRIPT_FAMILIES: dict[str, tuple[str, ...]] = {
    "latin": ("Noto Sans",),
    "ja": ("Noto Sans JP",),
    "zh-Hans": ("Noto Sans SC", "Noto Sans TC"),
    "zh-Hant": ("Noto Sans TC", "Noto Sans SC"),
    "ko": ("Noto Sans KR",),
}

# Characters a font must map to count as covering a script (common letters, not rarities).
SCRIPT_PROBES: dict[str, str] = {
    "latin": "AaZz09",
    "ja": "あア日本",
    "zh-Hans": "中国们这",
    "zh-Hant": "中國們這",
    "ko": "한국어가",
}

# What each packaged family covers (the CJK fonts also carry Latin glyphs).
_PACKAGED_SCRIPTS: dict[str, frozenset[str]] = {
    "Noto Sans": frozenset({"latin"}),
    "Noto Sans JP": frozenset({"ja", "latin"}),
    "Noto Sans SC": frozenset({"zh-Hans", "zh-Hant", "latin"}),
    "Noto Sans TC": frozenset({"zh-Hant", "zh-Hans", "latin"}),
    "Noto Sans KR": frozenset({"ko", "latin"}),
}

# The language part of a locale decides the script of Han-only text (Japanese kanji vs
# Chinese hanzi) and of Latin-free text without kana or hangul.
_LOCALE_SCRIPTS: dict[str, str] = {"ja": "ja", "ko": "ko", "zh": "zh-Hans"}
_HANT_REGIONS = {"TW", "HK", "MO", "HANT"}


def load_font(spec: FontSpec, script: str, size_px: int) -> ImageFont.FreeTypeFont:
    """The first font of spec's chain that covers script, at size_px and spec.weight."""
    if script not in SCRIPT_FAMILIES:
        raise NotFoundError(f"no fonts for script; known: {sorted(SCRIPT_FAMILIES)}",
                            field="script", value=script)
    return _cached_font(font_path(spec, script), spec.weight, int(size_px))


def font_path(spec: FontSpec, script: str) -> Path:
    """The file load_font uses for spec and script (brand file or family first, then packaged)."""
    for path in _candidate_paths(spec, script):
        if _covers(path, script):
            return path
    raise NotFoundError(f"no installed font covers script {script!r}; install "
                        "fontpkg-noto-sans and justmytype-intl-cjk", field="font.family",
                        value=spec.family)


def font_files() -> dict[str, Path]:
    """Every packaged family adgen can use, by family name, with its upright font file."""
    return dict(_packaged_families())


def script_for(text: str, locale: str) -> str:
    """The script to typeset text in: kana -> ja, hangul -> ko, Han by locale, else latin."""
    has_han = False
    for ch in text:
        kind = _char_kind(ch)
        if kind in ("ja", "ko"):
            return kind
        has_han = has_han or kind == "han"
    by_locale = _locale_script(locale)
    if has_han:
        # Han-only text follows the locale: kanji in ja-JP stay Japanese glyph forms.
        return by_locale if by_locale != "latin" else "zh-Hans"
    if text.strip():
        return "latin"
    return by_locale


def raqm_available() -> bool:
    """Whether Pillow has libraqm (HarfBuzz shaping, kerning, complex scripts)."""
    return bool(features.check("raqm"))


def _char_kind(ch: str) -> str:
    code = ord(ch)
    if 0x3040 <= code <= 0x30FF or 0x31F0 <= code <= 0x31FF or 0xFF66 <= code <= 0xFF9F:
        return "ja"
    if 0xAC00 <= code <= 0xD7AF or 0x1100 <= code <= 0x11FF or 0x3130 <= code <= 0x318F:
        return "ko"
    if 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0xF900 <= code <= 0xFAFF:
        return "han"
    if 0x20000 <= code <= 0x2FA1F:
        return "han"
    return "other" if unicodedata.category(ch)[0] in "LN" else "neutral"


def _locale_script(locale: str) -> str:
    parts = locale.replace("_", "-").split("-")
    script = _LOCALE_SCRIPTS.get(parts[0].lower(), "latin")
    if script == "zh-Hans" and any(p.upper() in _HANT_REGIONS for p in parts[1:]):
        return "zh-Hant"
    return script


def _candidate_paths(spec: FontSpec, script: str) -> list[Path]:
    packaged = _packaged_families()
    candidates: list[Path] = []
    if spec.file is not None:
        path = Path(spec.file)
        if not path.is_file():
            raise NotFoundError("font file does not exist", file=str(path), field="font.file")
        candidates.append(path)
    else:
        key = _family_key(spec.family, packaged)
        if key is None:
            raise NotFoundError(f"font family is not installed; available: {sorted(packaged)}",
                                field="font.family", value=spec.family)
        candidates.append(packaged[key])
    candidates += [packaged[name] for name in SCRIPT_FAMILIES[script] if name in packaged]
    return list(dict.fromkeys(candidates))


def _family_key(family: str, packaged: dict[str, Path]) -> str | None:
    wanted = family.strip().lower()
    return next((name for name in packaged if name.lower() == wanted), None)


@functools.cache
def _packaged_families() -> dict[str, Path]:
    families: dict[str, Path] = {}
    try:
        import fontpkg

        for fam in fontpkg.families().values():
            upright = [f for f in fam.files if f.style == "normal"]
            if upright:
                families[fam.name] = Path(upright[0].path)
    except ImportError:
        pass
    try:
        import justmytype_intl_cjk

        # The pack lists its files in a manifest next to them; reading it directly avoids
        # justmytype's matcher, which would also scan system font folders.
        for root in justmytype_intl_cjk.get_font_pack().get_font_directories():
            manifest = json.loads((Path(root) / "pack_manifest.json").read_text("utf-8"))
            for entry in manifest["fonts"]:
                if entry.get("style", "normal") == "normal":
                    families.setdefault(entry["family"], Path(root) / entry["path"])
    except ImportError:
        pass
    return families


@functools.cache
def _covers(path: Path, script: str) -> bool:
    name = next((n for n, p in _packaged_families().items() if p == path), None)
    if name in _PACKAGED_SCRIPTS:
        # Known packaged fonts: the table is the truth, no need to parse a 17 MB cmap.
        return script in _PACKAGED_SCRIPTS[name]
    from fontTools.ttLib import TTFont

    try:
        cmap = TTFont(str(path), lazy=True, fontNumber=0)["cmap"].getBestCmap()
    except Exception as exc:  # fontTools raises many types for a broken file
        raise NotFoundError(f"not a readable font: {exc}", file=str(path),
                            field="font.file") from exc
    return all(ord(ch) in cmap for ch in SCRIPT_PROBES[script])


@functools.lru_cache(maxsize=256)
def _cached_font(path: Path, weight: int, size_px: int) -> ImageFont.FreeTypeFont:
    engine = ImageFont.Layout.RAQM if raqm_available() else ImageFont.Layout.BASIC
    if engine == ImageFont.Layout.BASIC:
        _warn_no_raqm()
    font = ImageFont.truetype(str(path), size_px, layout_engine=engine)
    _set_weight(font, weight)
    return font


def _set_weight(font: ImageFont.FreeTypeFont, weight: int) -> None:
    try:
        axes = font.get_variation_axes()
    except OSError:
        return  # a static font: its weight is whatever the file is
    values = []
    for axis in axes:
        name = axis["name"].decode("ascii", "replace") if isinstance(axis["name"], bytes) \
            else str(axis["name"])
        if name.strip().lower() in ("weight", "wght"):
            # The CJK files default to Thin (100); an unset axis would draw hairlines.
            values.append(float(min(max(weight, axis["minimum"]), axis["maximum"])))
        else:
            values.append(float(axis["default"]))
    font.set_variation_by_axes(values)


@functools.cache
def _warn_no_raqm() -> None:
    warnings.warn("Pillow was built without libraqm: text uses basic layout (no HarfBuzz "
                  "shaping or kerning); install a Pillow wheel with raqm", RuntimeWarning,
                  stacklevel=3)
