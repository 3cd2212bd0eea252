"""The app's Adapters tab: a brand's adapter versions with their eval figures and grid; promote, roll back.

Locally it shows the CLI's registry (tenant "local"). In a served app (`adgen serve --ui`) it
shows the logged-in key's tenant's registry, within the key's brands (adgen.ui._authorize), and
only an admin key may promote or roll back, as over HTTP (adgen.service.routes_adapters).
"""

from __future__ import annotations

import datetime as dt
import html

import gradio as gr

from adgen.errors import AdgenError

COLUMNS = ["version", "active", "created", "parent", "trained on", "steps", "ΔE00 base", "ΔE00 this",
           "ΔE00 active", "stray text", "diversity", "held-out ΔLab", "promote?"]


def build_adapters_tab(brand_ids: list[str], default_brand: str | None = None) -> None:
    """The tab's components and handlers (call inside `with gr.Tab(...)`)."""
    with gr.Row():
        brand = gr.Dropdown(brand_ids, value=default_brand, label="Brand", elem_id="adapters-brand", scale=2)
        refresh = gr.Button("Refresh", elem_id="adapters-refresh", scale=1)
    status = gr.HTML(elem_id="adapters-status")
    table = gr.Dataframe(headers=COLUMNS, label="Versions (lower ΔE00 is closer to the palette)", interactive=False,
                         wrap=True, elem_id="adapters-versions")
    with gr.Row():
        version = gr.Number(None, precision=0, minimum=1, label="Version (n of v<n>)", elem_id="adapters-version",
                            scale=1)
        force = gr.Checkbox(False, label="Force (promote even if it does not improve)", elem_id="adapters-force",
                            scale=2)
        promote_button = gr.Button("Promote", variant="primary", elem_id="adapters-promote", scale=1)
        rollback_button = gr.Button("Roll back", elem_id="adapters-rollback", scale=1)
    grid = gr.Image(label="Eval grid: base, this version, the active one (a plate per prompt x seed)", type="filepath",
                    interactive=False, elem_id="adapters-grid")
    outputs = [status, table, version, grid]
    brand.change(_show, [brand], outputs, api_visibility="private")
    refresh.click(_show, [brand], outputs, api_name="adapters")
    version.change(_grid, [brand, version], [grid], api_visibility="private")
    promote_button.click(_promote, [brand, version, force], outputs, api_name="promote_adapter")
    rollback_button.click(_rollback, [brand], outputs, api_name="rollback_adapter")


def _show(brand: str | None, request: gr.Request = None, message: str = ""):
    if not brand:
        return "", [], None, None
    tenant, _ = _caller(request, brand)
    from adgen.lora_registry import active, promotion_gate, versions

    current = active(brand, tenant)
    rows, numbers = [], []
    for v in versions(brand, tenant):
        figures = v.figures or {}
        base, mine, previous = (figures.get(k) or {} for k in ("base", "adapter", "previous"))
        data = v.info.get("training_data") or {}
        reason = None if current and current.version == v.version else promotion_gate(v, current)
        rows.append([f"v{v.version}", "●" if current and current.version == v.version else "",
                     dt.datetime.fromtimestamp(v.info.get("created_at", 0)).strftime("%Y-%m-%d %H:%M"),
                     f"v{v.info['parent']}" if v.info.get("parent") else "", f"{data.get('train_images', '?')} "
                     f"{data.get('source', '')}", v.info.get("steps"), _num(base.get("palette_de00")),
                     _num(mine.get("palette_de00")), _num(previous.get("palette_de00")),
                     _num(mine.get("stray_text_rate")), _num(mine.get("diversity")),
                     _num(mine.get("held_out_lab_distance")),
                     "active" if current and current.version == v.version else ("yes" if reason is None else reason)])
        numbers.append(v.version)
    newest = numbers[-1] if numbers else None
    active_line = f"active: {current.label}" if current else "no active version: the kit's own adapter applies"
    text = f"<p>{html.escape(message)}</p>" if message else ""
    text += f"<p>{html.escape(active_line)} · tenant {html.escape(tenant)}</p>"
    return text, rows, newest, _grid_path(brand, newest, tenant)


def _grid(brand: str | None, version, request: gr.Request = None):
    if not brand or not version:
        return None
    tenant, _ = _caller(request, brand)
    return _grid_path(brand, int(version), tenant)


def _promote(brand: str | None, version, force: bool, request: gr.Request = None):
    from adgen.lora_registry import promote

    tenant, actor = _caller(request, brand, admin=True)
    if not brand or not version:
        raise gr.Error("Choose a brand and a version.", title="Nothing to promote")
    try:
        promoted = promote(brand, int(version), tenant, force=bool(force), actor=actor)
    except AdgenError as exc:
        raise gr.Error(html.escape(exc.reason, quote=False), title="Not promoted", print_exception=False) from None
    return _show(brand, request, f"{promoted.label} is active")


def _rollback(brand: str | None, request: gr.Request = None):
    from adgen.lora_registry import rollback

    tenant, actor = _caller(request, brand, admin=True)
    try:
        now = rollback(brand, tenant, actor=actor)
    except AdgenError as exc:
        raise gr.Error(html.escape(exc.reason, quote=False), title="Nothing to roll back", print_exception=False) \
            from None
    return _show(brand, request, f"{now.label} is active" if now else "rolled back to the kit's own adapter")


def _caller(request, brand: str | None, *, admin: bool = False) -> tuple[str, str]:
    """(tenant, actor): the local app's registry, or the served key's tenant (admin keys only to change it)."""
    from adgen.ui import _authorize, _policy

    _authorize(request, brand=brand)
    if _policy(request) is None:
        return "local", "app"
    from adgen.apikeys import get_key

    key = get_key(request.username)
    if key is None or key.revoked_at is not None:
        raise gr.Error("Log in with an API key.", title="Not logged in")
    if admin and key.role != "admin":
        raise gr.Error(f"A {key.role} key cannot promote or roll back adapters; an admin key can.", title="Not allowed")
    return key.tenant, key.id


def _grid_path(brand: str, version: int | None, tenant: str) -> str | None:
    from adgen.errors import NotFoundError
    from adgen.lora_registry import get_version

    if version is None:
        return None
    try:
        grid = get_version(brand, version, tenant).grid
    except NotFoundError:
        return None
    return str(grid) if grid else None


def _num(value) -> str:
    return "" if value is None else f"{value:.2f}"
