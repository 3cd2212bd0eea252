"""`adgen rules`: the compliance rule registry and each rule's default thresholds."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from adgen.commands.listing import JSON_OPTION, show

app = typer.Typer(help="Compliance rules and their thresholds.", invoke_without_command=True)
console = Console()

# Limits that live with the format or the brand kit rather than in thresholds.yaml.
OTHER_SOURCES = {
    "format.size": "the format's px size", "format.file-type": "the format's file types",
    "format.file-size": "the format's max KB", "layout.safe-zone": "the format's safe area",
    "brand.logo-size": "kit logo.min_width_px", "brand.logo-clearspace": "kit logo.clear_space x logo height",
    "copy.banned-terms": "adgen/data/banned_terms.yaml + kit banned_terms",
    "copy.required-disclaimer": "kit disclaimers; text.legible and text.contrast on it",
    "copy.claim-substantiated": "brand knowledge base (adgen kb); kit unsubstantiated_claims: fail | warn",
    "label.ai-visible": "label height per locale (zh-CN 5% of the short side); text.contrast",
    "label.ai-metadata": "C2PA Valid, IPTC AI source type, TC260 Label",
    "text.overflow": "fits its slot at the slot's floor",
}


@app.callback()
def rules(as_json: bool = JSON_OPTION) -> None:
    """List every rule with its severity and default thresholds (brand kits override under `thresholds:`).

    The asset rules first, then the print preflight's (`adgen check FILE.pdf`), whose summaries start "PDF:".
    """
    from adgen.compliance import RULES
    from adgen.compliance.preflight import PREFLIGHT_RULES
    from adgen.compliance.thresholds import all_defaults

    defaults = all_defaults()
    table = Table("rule", "severity", "checks", "default thresholds")
    records = []
    for rule in RULES + PREFLIGHT_RULES:
        # Keys are "<rule id>.<name>"; text.contrast's are shared with label.ai-visible and the disclaimer.
        own = {k[len(rule.id) + 1:]: v for k, v in defaults.items() if k.startswith(rule.id + ".")}
        shown = ", ".join(f"{k} {v:g}" for k, v in own.items())
        summary = f"PDF: {rule.summary}" if rule in PREFLIGHT_RULES else rule.summary
        table.add_row(rule.id, rule.severity, summary, "; ".join(filter(None, (shown, OTHER_SOURCES.get(rule.id)))))
        records.append({"id": rule.id, "severity": rule.severity, "summary": summary, "thresholds": own,
                        "limits_from": OTHER_SOURCES.get(rule.id)})
    show(table, records, as_json=as_json, console=console)
