"""Prompt stage: brand style words and format framing into prompts/<family>.j2."""

from __future__ import annotations

from dataclasses import dataclass

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from adgen.request import ResolvedRequest
from adgen.settings import prompts_dirs

# How the empty space should sit for each template, so copy has room to land.
FRAMING = {
    "square": "product on the right, open space on the left",
    "portrait": "centred composition, open space above",
    "tall": "centred composition, open space above and below",
    "tall-small": "centred composition, open space above",
    "landscape": "wide composition, open space on the left",
    "landscape-small": "wide composition, open space on the left",
    "leaderboard": "very wide panoramic backdrop",
    "billboard": "very wide panoramic backdrop",
    "skyscraper": "tall narrow backdrop",
    "marketplace": "pure white",
}


@dataclass(frozen=True)
class Prompt:
    text: str
    negative: str
    family: str


def build_prompt(request: ResolvedRequest) -> Prompt:
    """Render the prompt for the request's background plate."""
    family = "marketplace" if request.format.marketplace else "backdrop"
    # One loader over the search path: a project's prompts/backdrop.j2 replaces the bundled one alone.
    environment = Environment(loader=FileSystemLoader([str(p) for p in prompts_dirs()]), undefined=StrictUndefined,
                              autoescape=False, keep_trailing_newline=False)
    text = environment.get_template(f"{family}.j2").render(
        trigger=request.adapter_trigger,
        scene=request.product.scene,
        style_words=request.brand.style.words,
        framing=FRAMING.get(request.template.name, "balanced composition"),
        grounded=family == "backdrop" and _places_product(request),
    )
    return Prompt(text=" ".join(text.split()), negative=request.brand.style.negative, family=family)


def _places_product(request: ResolvedRequest) -> bool:
    """Whether the layout stands a product photo on this plate (plan._product's condition)."""
    return request.product.product_image is not None and request.template.slot("product") is not None
