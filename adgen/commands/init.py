"""`adgen init brand NAME`: a new brand kit that validates, with a comment on every field."""

from __future__ import annotations

from pathlib import Path
from string import Template
from typing import Optional

import typer
from rich.console import Console

from adgen.settings import PACKAGE_DIR

app = typer.Typer(help="Start your own project files (a brand kit).", no_args_is_help=True)
console = Console()
TEMPLATE = PACKAGE_DIR / "data" / "brand-template.yaml"
LOGO_PX = (240, 96)


@app.command("brand")
def init_brand(
    brand_id: str = typer.Argument(..., metavar="NAME", help="Kit id: lower-case letters, digits, '-' or '_'."),
    name: Optional[str] = typer.Option(None, "--name", help="Display name (default: NAME, capitalised)."),
    folder: Optional[Path] = typer.Option(None, "--dir", help="Kits folder (default $ADGEN_BRAND_KITS, else ./brand_kits)."),
) -> None:
    """Write KITS/NAME/brand.yaml (every field commented) and a placeholder logo.png; refuses to overwrite."""
    from adgen.brand import load_brand
    from adgen.settings import brand_kits_dir

    kit_dir = scaffold_brand(brand_id, name or brand_id.replace("-", " ").replace("_", " ").title(),
                             folder or brand_kits_dir())
    load_brand(brand_id, root=kit_dir.parent)  # what was written validates
    console.print(f"brand kit {brand_id} → {kit_dir}\nedit {kit_dir / 'brand.yaml'}, replace logo.png, "
                  f"then: adgen generate --brand {brand_id} --product PRODUCT.yaml", highlight=False)


def scaffold_brand(brand_id: str, name: str, root: Path) -> Path:
    """Write root/<brand_id>/brand.yaml and logo.png; the kit folder."""
    from adgen.brand import BRAND_ID_PATTERN
    from adgen.errors import InputError

    if not BRAND_ID_PATTERN.match(brand_id):
        raise InputError("brand id must be lower-case letters, digits, '-' or '_'", field="NAME", value=brand_id)
    kit_dir = root / brand_id
    if (kit_dir / "brand.yaml").exists():
        raise InputError("a brand kit is already there; not overwritten", file=str(kit_dir / "brand.yaml"))
    kit_dir.mkdir(parents=True, exist_ok=True)
    text = Template(TEMPLATE.read_text(encoding="utf-8")).substitute(id=brand_id, name=name.replace('"', "'"))
    (kit_dir / "brand.yaml").write_text(text, encoding="utf-8")
    _placeholder_logo(name).save(kit_dir / "logo.png")
    return kit_dir


def _placeholder_logo(name: str):
    """A wordmark on a transparent canvas: replace it with the real logo."""
    from PIL import Image, ImageDraw

    from adgen.fonts import FontSpec, load_font

    logo = Image.new("RGBA", LOGO_PX, (0, 0, 0, 0))
    draw = ImageDraw.Draw(logo)
    draw.rounded_rectangle((0, 0, LOGO_PX[0] - 1, LOGO_PX[1] - 1), radius=18, fill=(29, 53, 87, 255))
    size = 40
    while size > 12 and draw.textlength(name, font=load_font(FontSpec(weight=800), "latin", size)) > LOGO_PX[0] - 24:
        size -= 2
    font = load_font(FontSpec(weight=800), "latin", size)
    draw.text((LOGO_PX[0] / 2, LOGO_PX[1] / 2), name, font=font, fill=(255, 255, 255, 255), anchor="mm")
    return logo
