"""Colours and WCAG 2.x contrast, unrounded (https://www.w3.org/TR/WCAG21/#dfn-contrast-ratio)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Color:
    """An sRGB colour, 0-255 per channel."""

    r: int
    g: int
    b: int

    @classmethod
    def from_hex(cls, value: str) -> "Color":
        text = value.strip().lstrip("#")
        if len(text) == 3:
            text = "".join(c * 2 for c in text)
        if len(text) != 6 or any(c not in "0123456789abcdefABCDEF" for c in text):
            raise ValueError(f"not a hex colour: {value!r}")
        return cls(int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16))

    @property
    def hex(self) -> str:
        return f"#{self.r:02X}{self.g:02X}{self.b:02X}"

    def as_tuple(self) -> tuple[int, int, int]:
        return (self.r, self.g, self.b)

    @property
    def relative_luminance(self) -> float:
        return relative_luminance(self.as_tuple())


def _linear(channel_8bit: float) -> float:
    # WCAG 2.x uses 0.03928 as the sRGB knee (the sRGB spec says 0.04045; both give the
    # same result for 8-bit values).
    c = channel_8bit / 255.0
    return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(rgb: tuple[float, float, float]) -> float:
    """WCAG relative luminance of an 8-bit sRGB triple, 0-1."""
    r, g, b = rgb
    return 0.2126 * _linear(r) + 0.7152 * _linear(g) + 0.0722 * _linear(b)


def contrast_ratio(fg: tuple[float, float, float], bg: tuple[float, float, float]) -> float:
    """WCAG contrast ratio (1-21), unrounded: #777777 on white is 4.478..."""
    la, lb = relative_luminance(fg), relative_luminance(bg)
    hi, lo = max(la, lb), min(la, lb)
    return (hi + 0.05) / (lo + 0.05)
