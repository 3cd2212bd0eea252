"""The Gradio designer app: forms in, run() per asset, galleries and findings out. No pipeline logic.

build_ui() returns the Blocks; launch_ui() serves it (python app.py, adgen ui) for one designer;
`adgen serve --ui` mounts it behind the service's keys (adgen.service.ui_gate) with a ServedPolicy. Endpoints carry explicit api_names (generate, check, ...) so
gradio_client can drive it.
"""

from __future__ import annotations

import functools
import html
import inspect
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

# Gradio sends launch telemetry and a version check unless told not to; adgen never phones home.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402  (after the telemetry switch)

from adgen import ui_knowledge, ui_packaging, ui_render, ui_review, ui_session  # noqa: E402
from adgen.brand import list_brand_ids, load_brand  # noqa: E402
from adgen.errors import AdgenError, InputError  # noqa: E402
from adgen.formats import all_formats  # noqa: E402
from adgen.request import DEFAULT_MODEL, AssetRequest  # noqa: E402
from adgen.settings import examples_dir  # noqa: E402
from adgen.spec import ProductSpec, load_product  # noqa: E402
from adgen.ui_adapters import build_adapters_tab  # noqa: E402
from adgen.validation import validate_request  # noqa: E402

@dataclass(frozen=True)
class ServedPolicy:
    """What the app allows when a service serves it to many users (`adgen serve --ui`).

    The user is an API key id (the service's UI gate authenticates it); brands_of(user) gives
    that key's brands ('*' for all). Only the listed models can be chosen: a free-text model
    path would let any user make the server hash every file under any folder.
    """

    models: tuple[str, ...]
    brands_of: Callable[[str], tuple[str, ...]]
    db: Path | None = None                                # the service's store (the Review tab's queue)
    after_decision: Callable[[], None] | None = None      # sends the asset.reviewed callbacks a decision queued
    tenant_of: Callable[[str], str | None] | None = None  # whose knowledge base a user sees (None: the key's own)


DEFAULT_FORMATS = ("ig-square", "iab-300x250")
MAX_VARIANTS = 8
# The product form: fields grouped into rows; any ProductSpec field not named here gets its own row.
FORM_ROWS = (("sku", "locale"), ("name",), ("headline",), ("subhead",), ("price", "currency", "cta"),
             ("category", "scene"), ("features", "claims", "marks"), ("product_image",))
FINDINGS_HEADERS = ui_render.FINDING_COLUMNS
THEME_FONTS = ["ui-sans-serif", "system-ui", "Segoe UI", "Roboto", "Helvetica", "Arial", "sans-serif"]


def theme() -> gr.themes.Base:
    """Soft theme with system fonts: the page loads nothing from font CDNs."""
    return gr.themes.Soft(primary_hue="indigo", neutral_hue="slate", font=THEME_FONTS,
                          font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "monospace"])


def build_ui(model: str | None = None, served: ServedPolicy | None = None, reviewer: str | None = None) -> gr.Blocks:
    """The designer app; model pre-fills the model box (None: the request default); served: see ServedPolicy;
    reviewer: the key id a local app's Review tab decides as (adgen.ui_review)."""
    brand_ids = list_brand_ids()
    formats = all_formats()
    examples = _example_products()
    first_example = next(iter(examples.values()), None)
    with gr.Blocks(title="adgen designer", analytics_enabled=False, fill_width=True) as blocks:
        session, selected = gr.State(None), gr.State(None)
        gr.Markdown("# adgen designer\nProduct spec in, on-brand, compliance-checked ads out. "
                    "Every asset is made by the same `run()` as the CLI and the API.")
        with gr.Tab("Design", id="design"):
            with gr.Row(equal_height=False):
                with gr.Column(scale=2, min_width=380):
                    brand = gr.Dropdown(brand_ids, value=_default_brand(brand_ids), label="Brand",
                                        info=AssetRequest.model_fields["brand"].description)
                    brand_card = gr.HTML(_brand_card(_default_brand(brand_ids)))
                    with gr.Accordion("Product", open=True):
                        example = gr.Dropdown(list(examples), value=next(iter(examples), None),
                                              label="Start from an example", visible=bool(examples))
                        product_fields = _product_form(first_example)
                    with gr.Accordion("Output", open=True):
                        format_boxes = gr.CheckboxGroup(
                            [(f"{f.id} · {f.width}×{f.height}", f.id) for f in formats.values()],
                            value=[f for f in DEFAULT_FORMATS if f in formats], label="Formats",
                            info=AssetRequest.model_fields["format"].description)
                        with gr.Row():
                            variants = gr.Slider(1, MAX_VARIANTS, value=2, step=1, label="Variants per format",
                                                 elem_id="variants")
                            seed = gr.Number(0, precision=0, minimum=0, label="Seed", elem_id="seed",
                                             info=AssetRequest.model_fields["seed"].description)
                        with gr.Row():
                            model_box = _model_input(model, served)
                            # Gradio 6 shows and sends an empty Number as 0, so 0 (or a cleared
                            # box, sent as None) is what "the model's default" looks like here.
                            steps = gr.Number(0, precision=0, minimum=0, maximum=150, label="Steps (0: model default)",
                                              elem_id="steps", info=AssetRequest.model_fields["steps"].description)
                        cutout = gr.Checkbox(True, label="Cut out product photo (else framed)", elem_id="cutout",
                                             info=AssetRequest.model_fields["cutout"].description)
                    generate_button = gr.Button("Generate", variant="primary", elem_id="generate")
                with gr.Column(scale=3, min_width=480):
                    summary_view = gr.HTML(elem_id="summary")
                    galleries = {fid: gr.Gallery(label=f"{fid} · {f.width}×{f.height}", visible=False,
                                                 columns=_gallery_columns(fid), height="auto", object_fit="contain",
                                                 allow_preview=False, fit_columns=False,
                                                 elem_classes=["adgen-gallery", ui_render.shape_class(f.size.aspect)])
                                 for fid, f in formats.items()}
                    bundle = gr.File(label="Download everything (zip: images, reports, manifest.csv)",
                                     elem_id="bundle", interactive=False)
                    with gr.Column(visible=False, elem_id="detail", variant="panel") as detail:
                        detail_title = gr.HTML(elem_id="detail-title")
                        detail_image = gr.Image(label="Selected asset, findings drawn (layers in grey)", type="pil",
                                                format="png", interactive=False, height=520)
                        with gr.Row(equal_height=True):
                            regen_seed = gr.Number(1, precision=0, minimum=0, label="New seed", elem_id="regen-seed",
                                                   scale=1, min_width=120)
                            regen_button = gr.Button("Regenerate this variant", elem_id="regenerate", scale=2)
                            relayout_button = gr.Button("Re-lay out all with the edited copy (keeps the plates)",
                                                        elem_id="relayout", scale=3)
                        cutout_view = gr.Image(label="Product cut-out", type="pil", format="png", interactive=False,
                                               visible=False, height=240, elem_id="cutout-preview")
                        findings = gr.Dataframe(headers=FINDINGS_HEADERS, label="Findings", interactive=False,
                                                wrap=True, max_height=420, elem_id="findings",
                                                column_widths=ui_render.FINDING_COLUMN_WIDTHS)
                        design_guides = ui_knowledge.guides_table("design-guides")
                        with gr.Accordion("Report (JSON)", open=False):
                            report_json = gr.JSON()
                    with gr.Accordion("Run summary (JSON)", open=False):
                        summary_json = gr.JSON(label="Run summary")
        with gr.Tab("Check", id="check"):
            check_inputs, check_outputs, check_button = _check_tab(brand_ids, formats)
            check_guides = ui_knowledge.guides_table("check-guides")
        with gr.Tab(ui_knowledge.TAB_LABEL, id="knowledge") as knowledge_tab:
            ui_knowledge.build_knowledge_tab(brand_ids, knowledge_tab, [
                (brand, findings, design_guides), (check_inputs[1], check_outputs[3], check_guides)])
        ui_review.build_review_tab(blocks, brand_ids, reviewer)
        ui_packaging.build_packaging_tab(brand, product_fields, model_box, steps)
        with gr.Tab("Adapters", id="adapters"):
            build_adapters_tab(brand_ids, _default_brand(brand_ids))

        field_inputs = list(product_fields.values())
        views = [summary_view, *galleries.values(), detail, detail_title, detail_image, cutout_view, findings,
                 report_json, regen_seed]
        refresh = functools.partial(_views, list(galleries))

        brand.change(_brand_card_or_error, brand, brand_card, api_visibility="private")
        example.change(functools.partial(_example_values, examples), example, field_inputs, api_visibility="private")
        generate_button.click(
            _generate, [brand, *field_inputs, format_boxes, variants, seed, model_box, steps, cutout],
            [session, selected, summary_json, bundle], api_name="generate",
        ).success(refresh, [session, selected], views, api_visibility="private")
        for format_id, gallery in galleries.items():
            gallery.select(_selector(format_id), session, selected, api_visibility="private").success(
                refresh, [session, selected], views, api_visibility="private")
        regen_button.click(_regenerate, [session, selected, regen_seed], [session, summary_json, bundle],
                           api_name="regenerate").success(refresh, [session, selected], views,
                                                          api_visibility="private")
        relayout_button.click(_relayout, [session, *field_inputs], [session, summary_json, bundle],
                              api_name="relayout").success(refresh, [session, selected], views,
                                                           api_visibility="private")
        check_button.click(_check, check_inputs, check_outputs, api_name="check")
    blocks.adgen_policy = served  # handlers find it through their request (_policy)
    return blocks


def _model_input(model: str | None, served: ServedPolicy | None):
    """A free-text model path on the user's own machine; in a served app, the configured models only."""
    if served is not None:
        return gr.Dropdown(list(served.models), value=served.models[0], label="Model", elem_id="model",
                           info="Models this server is configured with.")
    return gr.Textbox(model or "", label="Model", placeholder=DEFAULT_MODEL, elem_id="model",
                      info=AssetRequest.model_fields["model"].description)


def launch_ui(blocks: gr.Blocks | None = None, *, host: str | None = None, port: int | None = None,
              model: str | None = None, reviewer: str | None = None, **launch_options):
    """Serve the app (no share link, no telemetry); blocks until stopped unless told otherwise.

    host and port default, as in any Gradio app, to $GRADIO_SERVER_NAME (else 127.0.0.1) and
    $GRADIO_SERVER_PORT (else the first free port from 7860).
    """
    blocks = blocks or build_ui(model, reviewer=reviewer)
    # Read here, not left to gradio: it reads them once, when gradio.http_server is imported.
    host = host or os.environ.get("GRADIO_SERVER_NAME") or "127.0.0.1"
    port = port or _port_from_env()
    return blocks.queue().launch(server_name=host, server_port=port, share=False, theme=theme(),
                                 css=ui_render.UI_CSS, footer_links=["api"], **launch_options)


def _port_from_env() -> int | None:
    value = os.environ.get("GRADIO_SERVER_PORT", "").strip()
    if not value:
        return None
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise InputError("must be a TCP port number (1-65535)", field="GRADIO_SERVER_PORT", value=value)
    return int(value)


# --- handlers: each turns form values into one call and the results into component values ---

def _edge(handler):
    """AdgenError -> gr.Error titled with the field it names; nothing else is caught."""
    @functools.wraps(handler)
    def wrapper(*args, **kwargs):
        try:
            return handler(*args, **kwargs)
        except AdgenError as exc:
            title = f"Check the field '{exc.field}'" if exc.field else "Cannot make this asset"
            raise gr.Error(html.escape(str(exc), quote=False), title=title, print_exception=False) from None
    return wrapper


def _authorize(request, *, brand: str | None = None, model: str | None = None, files=()) -> None:
    """In a served app: the user's key may use this brand and model, and files come from Gradio's uploads."""
    policy = _policy(request)
    if policy is None:
        return  # the local app: one designer on their own machine
    user = getattr(request, "username", None)
    if not user:
        raise gr.Error("Log in with an API key.", title="Not logged in")
    if brand is not None:
        allowed = policy.brands_of(user)
        if "*" not in allowed and brand not in allowed:
            raise gr.Error("This API key is not scoped to that brand.", title="Check the field 'brand'")
    if model and model not in policy.models:
        raise gr.Error("Choose one of the server's models.", title="Check the field 'model'")
    uploads = Path(gr.utils.get_upload_folder()).resolve()
    for path in files:
        if path and not Path(path).resolve().is_relative_to(uploads):
            raise gr.Error("Files must be uploaded through the form.", title="Check the file fields")


def tenant_for(request) -> str:
    """Whose knowledge base this user reads and writes: "local" in the local app (as the CLI), else the key's tenant."""
    from adgen.knowledge import LOCAL_TENANT

    policy = _policy(request)
    if policy is None:
        return LOCAL_TENANT
    user = getattr(request, "username", None)
    if not user:
        raise gr.Error("Log in with an API key.", title="Not logged in")
    tenant = policy.tenant_of(user) if policy.tenant_of else f"key-{user}"
    if not tenant:
        raise gr.Error("This API key is no longer valid.", title="Not logged in")
    return tenant


def _policy(request) -> ServedPolicy | None:
    """The ServedPolicy of the app this request reached (None for the local app or a direct call)."""
    starlette_request = getattr(request, "request", None) if request is not None else None
    gradio_app = getattr(starlette_request, "app", None)
    blocks = gradio_app.get_blocks() if hasattr(gradio_app, "get_blocks") else None
    return getattr(blocks, "adgen_policy", None)


def _spec_parameters(before: tuple[str, ...], after: tuple[str, ...] = (), progress: bool = False):
    """Name a *args handler's parameters after ProductSpec's fields, so API clients see sku, name, ...

    Gradio passes inputs (and a Progress tracker, when the signature has one) positionally in this order.
    """
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    names = (*before, *ProductSpec.model_fields, *after)
    parameters = [inspect.Parameter(name, kind) for name in names]
    if progress:
        parameters.append(inspect.Parameter("progress", kind, default=gr.Progress()))
    parameters.append(inspect.Parameter("request", kind, default=None, annotation=gr.Request))

    def name(handler):
        handler.__signature__ = inspect.Signature(parameters)
        handler.__annotations__ = {"request": gr.Request}  # gradio finds gr.Request by type hint
        return handler
    return name


@_spec_parameters(("brand",), ("formats", "variants", "seed", "model", "steps", "cutout"), progress=True)
@_edge
def _generate(*values):
    names = list(ProductSpec.model_fields)
    brand, values = values[0], values[1:]
    product = ui_session.product_from_form(dict(zip(names, values[:len(names)])))
    format_ids, variants, seed, model, steps, cutout, progress, request = values[len(names):]
    _authorize(request, brand=brand, model=(model or "").strip() or None, files=[product.product_image])
    validate_request([product], brand, list(format_ids or []), int(variants), product_field="")
    requests = ui_session.plan_requests(product, brand, list(format_ids or []), int(variants), int(seed or 0),
                                        (model or "").strip() or None, int(steps) if steps else None,
                                        cutout=cutout is not False)
    session = ui_session.generate_all(
        requests, lambda done, total, label: progress((done, total), desc=f"generating {label}", unit="assets"),
        tenant=tenant_for(request))
    bundle = ui_session.write_bundle(session)
    return session, None, ui_session.summary(session), str(bundle)


@_edge
def _regenerate(session, selected, seed, progress=gr.Progress(), request: gr.Request = None):
    _authorize(request)
    key = _require_selection(session, selected)
    progress(0.1, desc=f"regenerating {key[0]} v{key[1]}")
    ui_session.regenerate(session, key, int(seed or 0))
    return session, ui_session.summary(session), str(ui_session.write_bundle(session))


@_spec_parameters(("session",))
@_edge
def _relayout(session, *values):
    if session is None or not session.assets:
        raise gr.Error("Generate first; re-lay out reuses the generated plates.", title="Nothing to re-lay out")
    product = ui_session.product_from_form(dict(zip(ProductSpec.model_fields, values)))
    _authorize(values[-1], files=[product.product_image])
    ui_session.relayout_all(session, product)
    return session, ui_session.summary(session), str(ui_session.write_bundle(session))


def _selector(format_id: str):
    def select(session, evt: gr.SelectData):
        entries = session.of_format(format_id) if session else []
        return entries[evt.index][0] if 0 <= evt.index < len(entries) else None
    return select


def _views(format_ids, session, selected):
    """Every result component's value for a session and the selected asset."""
    rows = ui_session.summary(session) if session else []
    updates = [ui_render.summary_html(rows)]
    for format_id in format_ids:
        entries = session.of_format(format_id) if session else []
        updates.append(gr.Gallery(
            value=[(str(r.files.image), ui_render.caption(key[1], r.verdict)) for key, r in entries],
            visible=bool(entries), columns=_gallery_columns(format_id)))
    result = session.assets.get(tuple(selected)) if (session and selected) else None
    if result is None:
        return [*updates, gr.Column(visible=False), "", None, gr.Image(visible=False), None, None, gr.Number()]
    title = (f"<h3>{html.escape(result.request.format.id)} v{result.request.variant} "
             f"{ui_render.verdict_badge(result.verdict)}</h3><p>seed {result.request.seed} "
             f"(base {result.request.base_seed}) · {html.escape(str(result.files.image.name))}</p>")
    layer_boxes = tuple(layer.box.as_tuple() for layer in result.composition.layers)
    image = ui_render.draw_findings(result.composition.image, result.report, layer_boxes)
    document = json.loads(result.files.report.read_text(encoding="utf-8"))
    product = next((layer for layer in result.composition.layers if layer.cutout), None)
    preview = ui_render.cutout_preview(product.cutout if product else None)
    cutout = (gr.Image(value=preview[0], label=preview[1], visible=True) if preview
              else gr.Image(value=None, visible=False))
    return [*updates, gr.Column(visible=True), title, image, cutout, ui_render.findings_rows(result.report.findings),
            document, gr.Number(value=result.request.base_seed + 1)]


def _gallery_columns(format_id: str) -> int:
    """Thumbnails per row by shape: banners need the width, skyscrapers little of it."""
    aspect = all_formats()[format_id].size.aspect
    return 2 if aspect > 2.5 else 3 if aspect > 1.1 else 4


def _require_selection(session, selected) -> tuple[str, int]:
    if session is None or not selected or tuple(selected) not in session.assets:
        raise gr.Error("Select an asset in a gallery first.", title="No asset selected")
    return tuple(selected)


def _brand_card_or_error(brand_id, request: gr.Request):
    _authorize(request, brand=brand_id)
    return _edge(_brand_card)(brand_id)


def _brand_card(brand_id: str | None) -> str:
    return ui_render.brand_card_html(load_brand(brand_id)) if brand_id else ""


def _example_values(examples: dict[str, Path], label: str):
    if label not in examples:
        return [gr.update() for _ in ProductSpec.model_fields]
    values = ui_session.form_from_product(load_product(examples[label]))
    return [_image_value(values[name]) if ui_session.field_kind(name) == "image" else values[name]
            for name in ProductSpec.model_fields]


# --- the Check tab: any image, the rules that need no layers ---

def _check_tab(brand_ids, formats):
    with gr.Row(equal_height=False):
        with gr.Column(scale=2, min_width=360):
            image = gr.File(label="Image to check (original file: size and type are checked too)",
                            file_types=["image"], type="filepath", elem_id="check-image")
            brand = gr.Dropdown(brand_ids, value=_default_brand(brand_ids), label="Brand")
            format_id = gr.Dropdown(list(formats), value=next(iter(formats), None), label="Format",
                                    elem_id="check-format")
            copy = gr.Code("{}", language="json", label="Copy JSON (headline, subhead, cta, price, disclaimer)")
            with gr.Row():
                locale = gr.Textbox("en-US", label="Locale", info=ProductSpec.model_fields["locale"].description)
                category = gr.Textbox("general", label="Category",
                                      info=ProductSpec.model_fields["category"].description)
            button = gr.Button("Check", variant="primary", elem_id="check-button")
        with gr.Column(scale=3, min_width=480):
            verdict = gr.HTML(label="Verdict", elem_id="check-verdict")
            drawn = gr.Image(label="Findings drawn", type="pil", format="png", interactive=False)
            table = gr.Dataframe(headers=FINDINGS_HEADERS, label="Findings", interactive=False, wrap=True,
                                 column_widths=ui_render.FINDING_COLUMN_WIDTHS)
            with gr.Accordion("Report (JSON)", open=False):
                report = gr.JSON(label="Report")
    return [image, brand, format_id, copy, locale, category], [report, verdict, drawn, table], button


@_edge
def _check(image_path, brand, format_id, copy_json, locale, category, request: gr.Request):
    from PIL import Image

    from adgen.check_image import check_image_file

    if not image_path:
        raise gr.Error("Upload an image to check.", title="Check the field 'image'")
    _authorize(request, brand=brand, files=[image_path])
    copy_file = None
    if (copy_json or "").strip() not in ("", "{}"):
        copy_file = Path(tempfile.mkdtemp(prefix="adgen-ui-check-")) / "copy.json"
        copy_file.write_text(copy_json, encoding="utf-8")
    report = check_image_file(Path(image_path), brand=brand, format_id=format_id, copy_file=copy_file,
                              locale=(locale or "en-US").strip(), category=(category or "general").strip())
    with Image.open(image_path) as picture:
        drawn = ui_render.draw_findings(picture, report)
    return (report.as_dict(), f"<h3>Verdict {ui_render.verdict_badge(report.verdict)}</h3>", drawn,
            ui_render.findings_rows(report.findings))


# --- building blocks ---

def _product_form(example: Path | None) -> dict[str, gr.components.Component]:
    """One input per ProductSpec field, labelled by name, with the field's description as info."""
    values = ui_session.form_from_product(load_product(example)) if example else {}
    listed = [name for row in FORM_ROWS for name in row]
    rows = [row for row in FORM_ROWS] + [(name,) for name in ProductSpec.model_fields if name not in listed]
    components = {}
    for row in rows:
        with gr.Row():
            for name in row:
                if name in ProductSpec.model_fields:
                    components[name] = _field_input(name, values.get(name))
    return {name: components[name] for name in ProductSpec.model_fields}


def _field_input(name: str, value):
    info = ProductSpec.model_fields[name].description
    label = name.replace("_", " ")
    kind = ui_session.field_kind(name)
    if kind == "image":
        with gr.Column(min_width=160):
            picture = gr.Image(_image_value(value), label=label, type="filepath", image_mode=None, format="png",
                               sources=["upload", "clipboard"], height=180, elem_id=f"field-{name}")
            gr.Markdown(info, elem_id=f"field-{name}-info", elem_classes=["adgen-info"])
        return picture
    if kind == "number":
        return gr.Number(value, label=label, info=info, minimum=0, elem_id=f"field-{name}")
    if kind == "lines":
        return gr.Textbox(value or "", label=f"{label} (one per line)", info=info, lines=3,
                          elem_id=f"field-{name}")
    if kind == "yaml":
        return gr.Textbox(value or "", label=f"{label} (YAML)", info=info, lines=4, elem_id=f"field-{name}")
    return gr.Textbox(value or "", label=label, info=info, elem_id=f"field-{name}")


def _image_value(path):
    """Example images go to the form as pixels: gradio only serves files it was given or uploaded."""
    from PIL import Image

    if not path:
        return None
    with Image.open(path) as picture:
        return picture.copy()


def _example_products() -> dict[str, Path]:
    folder = examples_dir() / "products"
    return {path.stem: path for path in sorted(folder.glob("*.yaml"))} if folder.is_dir() else {}


def _default_brand(brand_ids: list[str]) -> str | None:
    return "northwind" if "northwind" in brand_ids else next(iter(brand_ids), None)
