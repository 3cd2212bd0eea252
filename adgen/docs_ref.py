"""Reference docs generated from the code: `python -m adgen.docs_ref` writes them, `--check` compares.

docs/cli.md from the typer app (every command and option), docs/rules.md from the rule registry and
adgen/data/thresholds.yaml, docs/formats.md from adgen/data/formats.yaml, docs/http.md from the
service's OpenAPI document. tests/test_docs.py fails when a committed file differs from what this
module makes, so the reference cannot fall out of step with the code.
"""

from __future__ import annotations

import inspect
import sys
import tempfile
from pathlib import Path

REGENERATE = "python -m adgen.docs_ref"
HEADER = f"<!-- Generated from the code by `{REGENERATE}`; do not edit by hand. -->\n\n"


def references() -> dict[str, str]:
    """File name under docs/ -> its generated text."""
    return {"cli.md": cli_reference(), "rules.md": rules_reference(), "formats.md": formats_reference(),
            "http.md": http_reference()}


def stale(docs_dir: Path) -> list[str]:
    """The reference files under docs_dir that differ from what the code makes now."""
    return [name for name, text in references().items()
            if not (docs_dir / name).is_file() or (docs_dir / name).read_text(encoding="utf-8") != text]


# -- CLI ---------------------------------------------------------------------------------------

def cli_reference() -> str:
    import typer

    from adgen.cli import app

    root = typer.main.get_command(app)
    lines = [HEADER, "# Command line reference\n\n", f"{_text(root.help)}\n\n",
             "Exit codes: 0 every asset passed (warnings allowed), 1 an asset failed a rule (or a batch row "
             "errored), 2 unusable input (one message naming file, row, field and value).\n"]
    context = typer.Context(root, info_name="adgen")
    for path, command in _walk(root, context, ["adgen"]):
        lines.append(_command_section(path, command))
    return "".join(lines)


def _walk(group, context, path):
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        if command is None or command.hidden:
            continue
        yield [*path, name], command
        if hasattr(command, "list_commands"):
            import typer

            yield from _walk(command, typer.Context(command, info_name=name, parent=context), [*path, name])


def _command_section(path: list[str], command) -> str:
    arguments = [p for p in command.params if p.param_type_name == "argument"]
    options = [p for p in command.params if p.param_type_name == "option" and not p.hidden]
    usage = " ".join(path + (["[OPTIONS]"] if options else []) + [_metavar(a) for a in arguments])
    if getattr(command, "commands", None):
        usage += " COMMAND ..."
    out = [f"\n## `{' '.join(path)}`\n\n", f"{_text(command.help)}\n\n", f"```\n{usage}\n```\n"]
    if arguments or options:
        out.append("\n| argument or option | type | default | what |\n|---|---|---|---|\n")
        for param in arguments + options:
            names = _metavar(param) if param in arguments else ", ".join(f"`{o}`" for o in param.opts + param.secondary_opts)
            out.append(f"| {names} | {_type(param)} | {_default(param)} | {_cell(getattr(param, 'help', '') or '')} |\n")
    return "".join(out)


def _metavar(argument) -> str:
    return argument.metavar or argument.name.upper()


def _type(param) -> str:
    if getattr(param, "is_flag", False):
        return "flag"
    kind = param.bare_type()
    kind = kind[len("list["):-1] if kind.startswith("list[") else kind
    text = {"str": "text", "Path": "path", "int": "integer", "float": "number", "bool": "flag"}.get(kind, kind)
    low, high = getattr(param, "min", None), getattr(param, "max", None)
    if low is not None or high is not None:
        text += f" {'' if low is None else low}..{'' if high is None else high}"
    return text + (", repeatable" if param.multiple else "")


def _default(param) -> str:
    if param.required:
        return "required"
    value = param.default
    if value is None or value == () or value == []:
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(f"`{v}`" for v in value)
    if isinstance(value, bool) and getattr(param, "secondary_opts", None):
        return f"`{param.opts[0] if value else param.secondary_opts[0]}`"
    if isinstance(value, bool):
        return "on" if value else "off"
    return f"`{value}`"


# -- rules and thresholds ----------------------------------------------------------------------

def rules_reference() -> str:
    from adgen.compliance import RULES
    from adgen.compliance.thresholds import _load

    table = _load()
    lines = [HEADER, "# Compliance rules and thresholds\n\n",
             "Every asset is checked by each rule of the registry (`adgen/compliance/__init__.py`); each "
             "finding has a status (pass, warn, fail, skip), the measured value, the threshold and the "
             "element's box. An `error` rule that fails makes the asset fail (exit 1); a `warning` rule "
             "warns at most. `adgen rules` prints the same table.\n\n",
             "| rule | severity | checks | thresholds (default) |\n|---|---|---|---|\n"]
    for rule in RULES:
        own = [f"`{k}` {v:g}" for k, v in table["defaults"].items() if k.startswith(rule.id + ".")]
        lines.append(f"| `{rule.id}` | {rule.severity} | {_cell(rule.summary)} | {'<br>'.join(own) or '—'} |\n")
    lines.append(_preflight_rules(table))
    lines.append("\n## Overrides\n\nThresholds live in `adgen/data/thresholds.yaml`. Precedence, last wins: "
                 "defaults < format < locale < brand kit < brand kit `@format` < brand kit `@locale`. A kit "
                 "overrides any key under `thresholds:` in its `brand.yaml`, for every asset "
                 "(`text.legible.max_cer: 0.08`) or one format or locale (`text.legible.max_cer@ja-JP: 0.08`).\n\n")
    lines.append("| where | key | value |\n|---|---|---|\n")
    for scope in ("formats", "locales"):
        for name, overrides in sorted(table[scope].items()):
            for key, value in overrides.items():
                lines.append(f"| {scope[:-1]} `{name}` | `{key}` | {value:g} |\n")
    return "".join(lines)


def _preflight_rules(table: dict) -> str:
    """The print preflight's registry (`adgen check FILE.pdf`, docs/preflight.md), in the same shape."""
    from adgen.compliance.preflight import PREFLIGHT_RULES

    lines = ["\n## Print preflight (PDF)\n\n`adgen check FILE.pdf` runs these instead (`adgen/compliance/preflight.py`; "
             "docs/preflight.md). Each finding names the page and the area in mm.\n\n",
             "| rule | severity | checks | thresholds (default) |\n|---|---|---|---|\n"]
    for rule in PREFLIGHT_RULES:
        own = [f"`{k}` {v:g}" for k, v in table["defaults"].items() if k.startswith(rule.id + ".")]
        lines.append(f"| `{rule.id}` | {rule.severity} | {_cell(rule.summary)} | {'<br>'.join(own) or '—'} |\n")
    return "".join(lines)


# -- formats -----------------------------------------------------------------------------------

def formats_reference() -> str:
    from adgen.formats import BUILTIN_FORMATS, _read_formats

    lines = [HEADER, "# Formats\n\n",
             "The built-in registry (`adgen/data/formats.yaml`; `adgen formats` prints it with your own added). "
             "Safe-area margins are fractions of the canvas side; print formats are sized in mm and their "
             "pixel size includes the bleed. Add your own in a formats file: see docs/brand-kits.md.\n\n",
             "| id | channel | size px | print | safe area (t r b l) | max KB | file types | template |\n",
             "|---|---|---|---|---|---|---|---|\n"]
    for f in _read_formats(BUILTIN_FORMATS):
        s = f.safe_area
        printed = (f"{f.width_mm:g}x{f.height_mm:g} mm +{f.bleed_mm:g} bleed, {f.safe_mm:g} safe @ {f.ppi} ppi"
                   if f.is_print else "—")
        channel = f.channel + (" (marketplace: white plate, product only)" if f.marketplace else "")
        lines.append(f"| `{f.id}` | {channel} | {f.width}x{f.height} | {printed} | "
                     f"{s.top:.1%} {s.right:.1%} {s.bottom:.1%} {s.left:.1%} | {f.max_kb} | "
                     f"{', '.join(f.file_types)} | {f.template} |\n")
    return "".join(lines)


# -- HTTP --------------------------------------------------------------------------------------

def http_reference() -> str:
    from adgen.service import ServiceSettings, create_app

    with tempfile.TemporaryDirectory() as home:  # the app opens its store; nothing is kept
        document = create_app(ServiceSettings(home=Path(home), run_worker=False, ui=False)).openapi()
    lines = [HEADER, f"# HTTP reference\n\n{document['info']['title']} {document['info']['version']}, from the "
             "OpenAPI document the service serves at `/openapi.json` (browsable at `/docs`). The guide with "
             "examples is [api.md](api.md).\n\n"
             "Generating a client: every JSON body has a schema, and the image bytes of "
             "`GET /v1/assets/{asset_id}` are `string` / `binary`. openapi-python-client (0.29) "
             "reads binary only as `application/octet-stream`; give it `content_type_overrides: "
             "{image/png: application/octet-stream, image/jpeg: application/octet-stream}` in its "
             "`--config` file and that route returns the bytes as a `File`.\n"]
    for route, methods in document["paths"].items():
        for method, operation in methods.items():
            lines.append(_operation(method, route, operation))
    lines.append("\n## Schemas\n")
    for name, schema in document.get("components", {}).get("schemas", {}).items():
        lines.append(_schema(name, schema))
    return "".join(lines)


def _operation(method: str, route: str, op: dict) -> str:
    out = [f"\n## `{method.upper()} {route}`\n\n", f"{_text(op.get('description') or op.get('summary', ''))}\n"]
    if op.get("parameters"):
        out.append("\n| parameter | in | required | type | what |\n|---|---|---|---|---|\n")
        for p in op["parameters"]:
            out.append(f"| `{p['name']}` | {p['in']} | {'yes' if p.get('required') else 'no'} | "
                       f"{_json_type(p.get('schema', {}))} | {_cell(p.get('description', ''))} |\n")
    body = op.get("requestBody")
    if body:
        kinds = ", ".join(f"{kind} ({_json_type(c.get('schema', {}))})" for kind, c in body["content"].items())
        out.append(f"\nBody{' (required)' if body.get('required') else ''}: {kinds}\n")
    out.append("\n| status | what | content |\n|---|---|---|\n")
    for status, response in op.get("responses", {}).items():
        content = ", ".join(f"{kind}: {_json_type(c.get('schema', {}))}" for kind, c in response.get("content", {}).items())
        out.append(f"| {status} | {_cell(response.get('description', ''))} | {content or '—'} |\n")
    return "".join(out)


def _schema(name: str, schema: dict) -> str:
    out = [f"\n### {name}\n\n{_text(schema.get('description', ''))}\n"]
    properties = schema.get("properties", {})
    if properties:
        required = set(schema.get("required", ()))
        out.append("\n| field | type | required | constraints | what |\n|---|---|---|---|---|\n")
        for field, spec in properties.items():
            out.append(f"| `{field}` | {_json_type(spec)} | {'yes' if field in required else 'no'} | "
                       f"{_constraints(spec)} | {_cell(spec.get('description', ''))} |\n")
    elif "enum" in schema:
        out.append(f"\nOne of {', '.join(f'`{v}`' for v in schema['enum'])}.\n")
    return "".join(out)


def _json_type(spec: dict) -> str:
    if "$ref" in spec:
        return spec["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in spec or "oneOf" in spec:
        return " or ".join(_json_type(s) for s in spec.get("anyOf") or spec["oneOf"])
    kind = spec.get("type", "any")
    if kind == "array":
        return f"array of {_json_type(spec.get('items', {}))}"
    if kind == "object" and isinstance(spec.get("additionalProperties"), dict):
        return f"object of {_json_type(spec['additionalProperties'])}"
    if "format" in spec or "contentMediaType" in spec:
        return f"{kind} ({spec.get('format') or spec.get('contentMediaType')})"
    return kind


def _constraints(spec: dict) -> str:
    names = {"minLength": "min length", "maxLength": "max length", "minimum": "≥", "maximum": "≤",
             "exclusiveMinimum": ">", "exclusiveMaximum": "<", "minItems": "min items", "maxItems": "max items",
             "pattern": "pattern"}
    parts = [f"{label} {spec[key]}" if key != "pattern" else f"pattern `{spec[key]}`"
             for key, label in names.items() if key in spec]
    if "enum" in spec:
        parts.append("one of " + ", ".join(f"`{v}`" for v in spec["enum"]))
    if "default" in spec:
        parts.append(f"default `{spec['default']}`")
    return _cell("; ".join(parts))


# -- text helpers ------------------------------------------------------------------------------

def _text(value: str | None) -> str:
    return inspect.cleandoc(value or "").strip()


def _cell(value: str) -> str:
    return " ".join(str(value).split()).replace("|", "\\|")


def main(argv: list[str] | None = None) -> int:
    """Write docs/*.md reference files (or, with --check, list the stale ones and exit 1)."""
    args = sys.argv[1:] if argv is None else argv
    from adgen.settings import REPO_DIR

    docs_dir = REPO_DIR / "docs"
    if "--check" in args:
        names = stale(docs_dir)
        for name in names:
            print(f"stale: docs/{name} (regenerate with `{REGENERATE}`)")
        return 1 if names else 0
    for name, text in references().items():
        (docs_dir / name).write_text(text, encoding="utf-8")
        print(f"wrote docs/{name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
