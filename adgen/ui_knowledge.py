"""The app's Knowledge tab: a brand's documents (upload, list, remove, search) and the passages behind findings.

Every handler calls adgen.knowledge, the same store as `adgen kb` and /v1/brands/{id}/kb. In a
served app (`adgen serve --ui`) the key must be scoped to the brand and sees its own tenant's
knowledge base only (adgen.ui._authorize, adgen.ui.tenant_of); the local app is tenant "local",
as the CLI. Endpoints carry api_names (kb_add, kb_list, kb_remove, kb_search, kb_guides) so
gradio_client can drive them.

The Design and Check tabs each get a "brand book" table under their findings: for each failing
or warning finding (and each claim), the closest passage with its file and page. Selecting a row
opens this tab searching for that finding.
"""

from __future__ import annotations

import functools

import gradio as gr

from adgen.kb_ingest import KINDS

SOURCE_COLUMNS = ["source", "kind", "passages", "pages"]
HIT_COLUMNS = ["score", "source", "page", "heading", "kind", "text"]
GUIDE_COLUMNS = ["rule", "status", "finding", "passage (file, page)", "score", "text"]
CLAIM_RULE = "copy.claim-substantiated"
ANY_KIND = "any"
UPLOAD_TYPES = [".pdf", ".md", ".markdown", ".html", ".htm", ".txt"]
TAB_LABEL = "Knowledge"
# Gradio makes the Tabs around build_ui's tabs itself (no handle to select one from Python): click its button.
OPEN_TAB_JS = f"""(...inputs) => {{
  const tab = [...document.querySelectorAll('button[role="tab"]')].find(b => b.textContent.trim() === "{TAB_LABEL}");
  if (tab) tab.click();
  return inputs;
}}"""


def guides_table(elem_id: str) -> gr.Dataframe:
    """The brand-book passages behind a tab's findings (filled by build_knowledge_tab's links)."""
    return gr.Dataframe(headers=GUIDE_COLUMNS, label="Why: the brand's passage behind each finding "
                        "(select a row to search the knowledge base)", interactive=False, wrap=True,
                        max_height=320, elem_id=elem_id)


def build_knowledge_tab(brand_ids: list[str], tab: gr.Tab, links: list[tuple]) -> None:
    """The contents of `tab` (call inside `with tab:`); links: (brand input, findings table, guides table) per tab."""
    first = _default(brand_ids)
    with gr.Row(equal_height=False):
        with gr.Column(scale=2, min_width=360):
            brand = gr.Dropdown(brand_ids, value=first, label="Brand", elem_id="kb-brand")
            files = gr.File(label="Documents (PDF with a text layer, Markdown, HTML, text)", file_count="multiple",
                            file_types=UPLOAD_TYPES, type="filepath", elem_id="kb-files")
            kind = gr.Radio(list(KINDS), value="guideline", label="Kind", elem_id="kb-kind",
                            info="guideline: the brand book; claim-evidence: what backs each marketing claim.")
            add_button = gr.Button("Add to the knowledge base", variant="primary", elem_id="kb-add")
            added = gr.Markdown(elem_id="kb-added")
            sources = gr.Dataframe(headers=SOURCE_COLUMNS, label="Files", interactive=False, elem_id="kb-sources")
            with gr.Row(equal_height=True):
                source = gr.Dropdown([], label="File to remove", allow_custom_value=True, elem_id="kb-source")
                remove_button = gr.Button("Remove", variant="stop", elem_id="kb-remove")
        with gr.Column(scale=3, min_width=480):
            with gr.Row(equal_height=True):
                query = gr.Textbox(label="Search", placeholder="18-hour steep", elem_id="kb-query", scale=4)
                search_kind = gr.Dropdown([ANY_KIND, *KINDS], value=ANY_KIND, label="Kind", scale=1,
                                          elem_id="kb-search-kind")
            search_button = gr.Button("Search", elem_id="kb-search")
            hits = gr.Dataframe(headers=HIT_COLUMNS, label="Passages, closest first", interactive=False, wrap=True,
                                elem_id="kb-hits", column_widths=["8%", "16%", "6%", "16%", "12%", "42%"])

    listing = [sources, source]
    add_button.click(kb_add, [brand, files, kind], [added, *listing], api_name="kb_add")
    remove_button.click(kb_remove, [brand, source], [added, *listing], api_name="kb_remove")
    brand.change(kb_list, brand, listing, api_name="kb_list")
    tab.select(kb_list, brand, listing, api_visibility="private")  # opening the tab lists the brand's files
    search_button.click(kb_search, [brand, query, search_kind], hits, api_name="kb_search")
    query.submit(kb_search, [brand, query, search_kind], hits, api_visibility="private")
    for index, (finding_brand, findings, guides) in enumerate(links):
        findings.change(kb_guides, [finding_brand, findings], guides,
                        api_name="kb_guides" if index == 0 else None,
                        api_visibility="public" if index == 0 else "private")
        # The tab is switched in the browser (OPEN_TAB_JS); the search runs here.
        guides.select(_open_search, [finding_brand, guides], [brand, query, search_kind, hits], js=OPEN_TAB_JS,
                      api_visibility="private")


# --- handlers: each authorizes, then makes one call into adgen.knowledge ---

def _handler(function):
    """adgen.ui's edge (AdgenError -> a gr.Error naming the field), looked up at call time: ui imports this module."""
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        from adgen.ui import _edge

        return _edge(function)(*args, **kwargs)
    return wrapper


@_handler
def kb_add(brand: str, files: list[str] | None, kind: str, request: gr.Request = None):
    """Add uploaded files of one kind to the brand's knowledge base; a summary and the files after."""
    paths = [path for path in (files or []) if path]
    if not paths:
        raise gr.Error("Choose one or more files to add.", title="Check the field 'files'")
    kb = _knowledge_base(request, brand, files=paths)
    done = kb.add(paths, kind)
    summary = (f"Added {done.files} file(s) as {kind}: {done.added} passage(s) embedded, {done.kept} unchanged, "
               f"{done.removed} removed.")
    return summary, *_listing(kb)


@_handler
def kb_list(brand: str, request: gr.Request = None):
    """The brand's files: the table and the remove choices."""
    return _listing(_knowledge_base(request, brand))


@_handler
def kb_remove(brand: str, source: str, request: gr.Request = None):
    """Forget one file's passages."""
    if not (source or "").strip():
        raise gr.Error("Choose a file to remove.", title="Check the field 'source'")
    kb = _knowledge_base(request, brand)
    removed = kb.remove(source.strip())
    return f"Removed {source.strip()}: {removed} passage(s).", *_listing(kb)


@_handler
def kb_search(brand: str, query: str, kind: str | None = ANY_KIND, request: gr.Request = None):
    """The passages closest to a query: score, file, page, heading, kind and text."""
    kb = _knowledge_base(request, brand)
    found = kb.search(query or "", k=10, kind=None if kind in (None, "", ANY_KIND) else kind)
    return [[round(h.score, 3), h.passage.source, h.passage.page or "", h.passage.heading or "", h.passage.kind,
             h.passage.text] for h in found]


@_handler
def kb_guides(brand: str, findings, request: gr.Request = None):
    """For each failing or warning finding and each claim: the closest passage, its file, page and score."""
    rows = _rows(findings)
    if not brand or not rows:
        return []
    kb = _knowledge_base(request, brand, missing_ok=True)
    if kb is None:
        return []
    wanted = [(rule, status, message) for rule, status, message in rows
              if rule == CLAIM_RULE or status.split()[-1:] in (["fail"], ["warn"])]
    guides = []
    for rule, status, message in wanted:
        hit = next(iter(kb.search(_finding_query(rule, message), k=1, kind=_kind_for(rule))), None)
        if hit is not None:
            where = hit.passage.source + (f", p. {hit.passage.page}" if hit.passage.page else "")
            guides.append([rule, status, message, where, round(hit.score, 3), hit.passage.text])
    return guides


def _open_search(brand: str, guides, evt: gr.SelectData, request: gr.Request = None):
    """A guide row selected: the Knowledge tab's brand, query and passages for that finding."""
    rows = _guide_rows(guides)
    if not 0 <= evt.index[0] < len(rows):
        return gr.update(), gr.update(), gr.update(), gr.update()
    rule, message = rows[evt.index[0]][0], rows[evt.index[0]][2]
    query, kind = _finding_query(rule, message), _kind_for(rule) or ANY_KIND
    return brand, query, kind, kb_search(brand, query, kind, request)


# --- building blocks ---

def _knowledge_base(request, brand: str | None, *, files=(), missing_ok: bool = False):
    """The KnowledgeBase this user may use: the brand allowed by their key, their tenant's."""
    from adgen.brand import load_brand
    from adgen.knowledge import KnowledgeBase, existing
    from adgen.ui import _authorize, tenant_for

    if not brand:
        raise gr.Error("Choose a brand.", title="Check the field 'brand'")
    _authorize(request, brand=brand, files=files)
    brand_id, tenant = load_brand(brand).id, tenant_for(request)
    if missing_ok:
        return existing(tenant, brand_id)
    return KnowledgeBase(tenant, brand_id)


def _listing(kb) -> tuple[list[list], gr.Dropdown]:
    files = kb.sources()
    names = [f["source"] for f in files]
    return ([[f["source"], f["kind"], f["passages"], f["pages"] or ""] for f in files],
            gr.Dropdown(choices=names, value=names[0] if names else None))


def _finding_query(rule: str, message: str) -> str:
    """What a finding is about, as a search: the rule's summary and the finding's message (adgen.evidence's way)."""
    from adgen.compliance import RULES

    if rule == CLAIM_RULE:
        return message
    summary = next((r.summary for r in RULES if r.id == rule), rule)
    return f"{summary}. {message}"


def _kind_for(rule: str) -> str | None:
    """Claims are backed by claim evidence; every other rule is explained by the brand book."""
    return "claim-evidence" if rule == CLAIM_RULE else "guideline"


def _rows(findings) -> list[tuple[str, str, str]]:
    """(rule, status, message) of a findings table's value (ui_render.FINDING_COLUMNS), whatever shape it came in."""
    from adgen.ui_render import FINDING_COLUMNS

    rule, status, message = (FINDING_COLUMNS.index(c) for c in ("rule", "status", "message"))
    return [(str(r[rule]), str(r[status]), str(r[message])) for r in _table(findings) if len(r) > message and r[rule]]


def _guide_rows(guides) -> list[list]:
    return [list(r) for r in _table(guides)]


def _table(value) -> list[list]:
    if value is None:
        return []
    if hasattr(value, "values") and hasattr(value, "columns"):  # pandas, gradio's default
        return value.values.tolist()
    if isinstance(value, dict):  # {"headers": [...], "data": [[...]]} from an API client
        return value.get("data") or []
    return list(value)


def _default(brand_ids: list[str]) -> str | None:
    return "northwind" if "northwind" in brand_ids else next(iter(brand_ids), None)
