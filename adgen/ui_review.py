"""The app's Review tab: the review queue, the selected asset with its findings drawn, its variants, decisions.

Every decision goes through ReviewStore.decide (adgen.service.reviews), the one path POST
/v1/assets/{id}/review and `adgen review` take: the same roles, brands, four-eyes, brand policy,
optimistic locking (the decision names the review version the reviewer saw) and audit entry.
The acting key is the one that logged in at /ui-login (`adgen serve --ui`); in an app launched on
one's own machine (`adgen ui --key-id KEY_ID`) it is that key of ADGEN_HOME, as for `adgen review`.
Keyboard: a approve, c request changes, r reject, j / k next / previous, Escape leaves a text box.
"""

from __future__ import annotations

import functools
import html
import time
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from adgen import ui_render
from adgen.service.reviews import REASON_LABELS

STATE_CHOICES = [("pending", "pending"), ("changes requested", "changes_requested"), ("approved", "approved"),
                 ("rejected", "rejected"), ("all states", "")]
ALL_BRANDS = "all brands"
QUEUE_COLUMNS = ["", "product · format", "verdict", "state", "made by"]
QUEUE_COLUMN_WIDTHS = ["5%", "37%", "13%", "20%", "25%"]
STATE_COLORS = {"pending": "#57606a", "approved": "#1a7f37", "changes_requested": "#b45309", "rejected": "#cf222e"}
VARIANT_THUMB_PX = 320
NO_KEY = ("This app has no reviewer: start it with `adgen ui --key-id KEY_ID` (a reviewer key of this "
          "ADGEN_HOME, see `adgen keys list`), or use `adgen serve --ui` and log in with a reviewer key.")

# One listener for the whole page, installed once on load; a key acts only while the Review tab is shown
# and focus is not in a text box (Escape leaves one), so typing a comment never approves anything;
# a ticked reason checkbox keeps the keys working.
SHORTCUTS_JS = """() => {
  if (window.adgenReviewKeys) return;
  window.adgenReviewKeys = true;
  const buttons = {a: "review-approve", c: "review-changes", r: "review-reject", j: "review-next", k: "review-prev"};
  document.addEventListener("keydown", (event) => {
    const target = event.target, tag = ((target && target.tagName) || "").toLowerCase();
    const box = tag === "input" && !["checkbox", "radio", "button", "submit"].includes(target.type);
    const typing = box || tag === "textarea" || tag === "select" || (target && target.isContentEditable);
    if (typing) { if (event.key === "Escape") target.blur(); return; }
    if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
    const button = document.getElementById(buttons[event.key] || "");
    if (!button || button.offsetParent === null || button.disabled) return;
    event.preventDefault();
    button.click();
  });
}"""

# Inline styles: the app's stylesheet is given at launch (ui_render.UI_CSS), shared with the other tabs.
NOTE_STYLES = {"ok": "background:#dafbe1;color:#116329;border:1px solid #4ac26b",
               "conflict": "background:#fff8c5;color:#7d4e00;border:1px solid #d4a72c",
               "refused": "background:#ffebe9;color:#a40e26;border:1px solid #ff8182"}
KBD = "border:1px solid #d0d7de;border-bottom-width:2px;border-radius:4px;padding:0 5px;background:#f6f8fa"


@dataclass(frozen=True)
class _Reviewer:
    """Who acts in this request, and on which store; after_decision sends queued callbacks (served app)."""

    key: object | None        # adgen.apikeys.ApiKey, None when the app has no reviewer
    db: Path
    after_decision: object | None = None


def build_review_tab(blocks: gr.Blocks, brand_ids: list[str], reviewer_key_id: str | None = None) -> None:
    """The Review tab, inside build_ui's Blocks; reviewer_key_id: the local app's reviewer (see module doc)."""
    blocks.adgen_reviewer = reviewer_key_id
    with gr.Tab("Review", id="review") as tab:
        who = gr.HTML(elem_id="review-who", elem_classes=["adgen-review-who"])
        with gr.Row(equal_height=False):
            with gr.Column(scale=2, min_width=380):
                with gr.Row():
                    state_filter = gr.Dropdown(STATE_CHOICES, value="pending", label="State", elem_id="review-state")
                    brand_filter = gr.Dropdown([ALL_BRANDS, *brand_ids], value=ALL_BRANDS, label="Brand",
                                               elem_id="review-brand")
                counter = gr.HTML(elem_id="review-counter")
                queue_table = gr.Dataframe(headers=QUEUE_COLUMNS, label="Review queue (oldest first)",
                                           interactive=False, wrap=True, elem_id="review-queue", max_height=520,
                                           column_widths=QUEUE_COLUMN_WIDTHS)
                with gr.Row():
                    previous = gr.Button("◀ previous (k)", elem_id="review-prev", size="sm")
                    following = gr.Button("next (j) ▶", elem_id="review-next", size="sm")
                    refresh = gr.Button("↻ refresh", elem_id="review-refresh", size="sm")
                gr.HTML("<p>Keys: " + " · ".join(f'<kbd style="{KBD}">{key}</kbd> {does}' for key, does in (
                    ("a", "approve"), ("c", "request changes"), ("r", "reject"), ("j", "next"), ("k", "previous"),
                    ("Esc", "leaves the comment box"))) + "</p>")
                comment = gr.Textbox(label="Comment", lines=3, elem_id="review-comment",
                                     placeholder="Why: needed to approve a warn, recorded in the audit log")
                reasons = gr.CheckboxGroup([(label, code) for code, label in REASON_LABELS.items()],
                                           label="Reasons (to request changes or reject)", elem_id="review-reasons")
                with gr.Row():
                    approve = gr.Button("Approve (a)", variant="primary", elem_id="review-approve")
                    changes = gr.Button("Request changes (c)", elem_id="review-changes")
                    reject = gr.Button("Reject (r)", variant="stop", elem_id="review-reject")
                message = gr.HTML(elem_id="review-message")
            with gr.Column(scale=3, min_width=480):
                title = gr.HTML(elem_id="review-title", elem_classes=["adgen-review-title"])
                image = gr.Image(label="The asset, its findings drawn", type="pil", format="png", interactive=False,
                                 height=560, elem_id="review-image")
                variants = gr.Gallery(label="Variants of this product and format (▶ this one)", columns=4,
                                      height="auto", object_fit="contain", allow_preview=False, fit_columns=False,
                                      elem_id="review-variants", elem_classes=["adgen-gallery"])
                findings = gr.Dataframe(headers=ui_render.FINDING_COLUMNS, label="Findings", interactive=False,
                                        wrap=True, max_height=360, elem_id="review-findings",
                                        column_widths=ui_render.FINDING_COLUMN_WIDTHS)
        queue_ids, position, shown = gr.State([]), gr.State(0), gr.State(None)

    filters = [state_filter, brand_filter]
    views = [who, queue_table, queue_ids, position, shown, counter, title, image, variants, findings, message]
    private = {"api_visibility": "private"}
    for event in (tab.select, refresh.click, state_filter.change, brand_filter.change):
        event(_show, [*filters, position], views, **private)
    previous.click(_step_back, [*filters, position], views, **private)
    following.click(_step_on, [*filters, position], views, **private)
    queue_table.select(_pick, [*filters, queue_ids], views, **private)
    for button, decision in ((approve, "approved"), (changes, "changes_requested"), (reject, "rejected")):
        # Private: a decision needs the version this page showed (session state); API clients have POST
        # /v1/assets/{id}/review for that.
        button.click(_decider(decision), [*filters, position, shown, comment, reasons], [*views, comment, reasons],
                     **private)
    blocks.load(None, None, None, js=SHORTCUTS_JS)


# --- handlers ---

def _show(state: str, brand: str, position: int, request: gr.Request = None, note: str = ""):
    """Every view for the queue under these filters, at this position (clamped)."""
    reviewer = _reviewer(request)
    if reviewer.key is None:
        return _empty(_note(NO_KEY, "refused"), who="")
    found = _stores(reviewer.db)[0].list(reviewer.key.tenant, state=state or None,
                                  brand=None if brand in (None, ALL_BRANDS) else brand, brands=reviewer.key.brands)
    who = (f"Reviewing as key <code>{html.escape(reviewer.key.id)}</code> ({html.escape(reviewer.key.tenant)}, "
           f"{html.escape(reviewer.key.role)}; brands {html.escape(', '.join(reviewer.key.brands))})")
    if not reviewer.key.may_decide:
        who += " · a creator key sees the queue; deciding needs a reviewer or admin key"
    if not found:
        return _empty(note or _note("Nothing to review under these filters.", "ok"), who=who)
    position = min(max(0, int(position or 0)), len(found) - 1)
    review = found[position]
    jobs = _stores(reviewer.db)[1]
    assets = {a.id: a for job_id in dict.fromkeys(r.job_id for r in found) for a in jobs.assets(job_id)}
    asset = assets.get(review.asset_id)
    rows = [["▶" if i == position else "", _product_label(assets.get(r.asset_id)),
             f"{ui_render.STATUS_ICONS.get(r.verdict, '?')} {r.verdict}", r.state.replace("_", " "), r.generated_by]
            for i, r in enumerate(found)]
    counter = f"<p>Asset <b>{position + 1}</b> of {len(found)} in the queue</p>"
    shown = {"asset_id": review.asset_id, "version": review.version}
    drawn, table = _evidence(asset)
    siblings = [a for a in assets.values() if asset and (a.job_id, a.sku, a.format) == (asset.job_id, asset.sku,
                                                                                           asset.format)]
    return [who, rows, [r.asset_id for r in found], position, shown, counter, _title(review, asset), drawn,
            _variants(siblings, asset), table, note]


def _step_back(state, brand, position, request: gr.Request = None):
    return _show(state, brand, int(position or 0) - 1, request)


def _step_on(state, brand, position, request: gr.Request = None):
    return _show(state, brand, int(position or 0) + 1, request)


def _pick(state, brand, queue_ids, evt: gr.SelectData, request: gr.Request = None):
    row = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
    return _show(state, brand, row if 0 <= row < len(queue_ids or []) else 0, request)


def _decider(decision: str):
    def decide(state, brand, position, shown, comment, reasons, request: gr.Request = None):
        """Record the decision on the asset shown, made on the version shown; the views and a message back."""
        from adgen.errors import AdgenError
        from adgen.service.reviews import Decision, ReviewConflict, ReviewForbidden

        reviewer = _reviewer(request)
        if reviewer.key is None:
            return [*_show(state, brand, position, request, _note(NO_KEY, "refused")), gr.update(), gr.update()]
        if not shown:
            return [*_show(state, brand, position, request, _note("Select an asset first.", "refused")),
                    gr.update(), gr.update()]
        asked = Decision(decision, comment or None, tuple(reasons or ()), expected_version=shown["version"])
        try:
            found = _stores(reviewer.db)[0].decide(shown["asset_id"], reviewer.key, asked)
        except ReviewConflict as conflict:
            now = conflict.current
            by = f" by key {now.reviewer_key}" if now.reviewer_key else ""
            text = f"Not recorded: {conflict.message}."
            if now.version != shown["version"]:  # a decision made since this page showed the asset
                text += f" Someone decided first: the asset is now {now.state.replace('_', ' ')}{by}."
            gr.Warning(text, title="Not recorded")
            return [*_show(state, brand, position, request, _note(text, "conflict")), gr.update(), gr.update()]
        except ReviewForbidden as refused:
            text = f"Not recorded: {refused.message}."
            if refused.code == "four_eyes":
                text = ("Not recorded: you generated this asset, and its brand asks for four eyes "
                        "(review.four_eyes): another reviewer must approve it.")
            gr.Warning(text, title="Not yours to decide")
            return [*_show(state, brand, position, request, _note(text, "refused")), gr.update(), gr.update()]
        except AdgenError as exc:
            text = f"Not recorded: {exc}" + (f" (field '{exc.field}')" if exc.field else "")
            return [*_show(state, brand, position, request, _note(text, "refused")), gr.update(), gr.update()]
        if found is None:
            return [*_show(state, brand, position, request, _note("No such asset any more.", "refused")),
                    gr.update(), gr.update()]
        review, replayed = found
        if not replayed:
            from adgen.service.copy_history import remember_in_background

            remember_in_background(_stores(reviewer.db)[1], review)  # approved copy to the copy history
            if reviewer.after_decision is not None:
                reviewer.after_decision()
        views = _show(state, brand, position, request)
        if views[2] and position < len(views[2]) and views[2][position] == review.asset_id:
            views = _show(state, brand, position + 1, request)  # it stays in this queue: move on
        done = (f"{review.asset_id} {review.state.replace('_', ' ')} by key {review.reviewer_key}"
                f"{' (already decided)' if replayed else ''}.")
        views[-1] = _note(done, "ok")
        return [*views, "", []]
    decide.__name__ = f"review_{decision}"
    return decide


# --- reading the store ---

def _reviewer(request) -> _Reviewer:
    """The acting key: the logged-in key of a served app, else the local app's --key-id (None: no reviewer)."""
    from adgen.apikeys import get_key
    from adgen.service_db import service_db_path

    blocks = _blocks(request)
    policy = getattr(blocks, "adgen_policy", None)
    if policy is not None:
        user = getattr(request, "username", None)
        if not user:
            raise gr.Error("Log in with an API key.", title="Not logged in")
        db = getattr(policy, "db", None) or service_db_path()
        key = get_key(user, db=db)
        return _Reviewer(key if key is not None and key.revoked_at is None else None, db,
                         getattr(policy, "after_decision", None))
    db = service_db_path()
    key_id = getattr(blocks, "adgen_reviewer", None)
    if not key_id:
        return _Reviewer(None, db)
    _stores(db)  # opened once: the key table is there
    key = get_key(key_id, db=db)
    if key is None or key.revoked_at is not None:
        raise gr.Error(f"No live API key {html.escape(key_id)} in this ADGEN_HOME (adgen keys list).",
                       title="Check --key-id")
    return _Reviewer(key, db)


def _blocks(request):
    """The Blocks this request reached (its attributes carry the served policy and the local reviewer)."""
    app = getattr(getattr(request, "request", None), "app", None) if request is not None else None
    return app.get_blocks() if hasattr(app, "get_blocks") else None


@functools.lru_cache(maxsize=4)
def _stores(db: Path):
    """(ReviewStore, JobStore) of a service file, opened once per process (opening one checks its schema)."""
    from adgen.apikeys import ensure_schema
    from adgen.service.reviews import ReviewStore
    from adgen.service.store import JobStore

    ensure_schema(db)
    return ReviewStore(db), JobStore(db)


# --- what is shown ---

def _empty(note: str, who: str):
    return [who, [], [], 0, None, "", "", None, [], [], note]


def _note(text: str, kind: str) -> str:
    return (f'<p class="adgen-review-note adgen-review-{kind}" role="alert" style="{NOTE_STYLES[kind]};'
            f'border-radius:8px;padding:10px 14px;font-weight:600;margin:0">{html.escape(text)}</p>')


def _product_label(asset) -> str:
    return f"{asset.sku} · {asset.format} v{asset.variant}" if asset else "—"


def _state_badge(state: str) -> str:
    return (f'<span class="adgen-badge adgen-state-{html.escape(state)}" style="background:'
            f'{STATE_COLORS.get(state, "#57606a")}">{html.escape(state.replace("_", " ").upper())}</span>')


def _title(review, asset) -> str:
    decided = ""
    if review.decided_at is not None:
        when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(review.decided_at))
        why = ", ".join(REASON_LABELS.get(r, r) for r in review.reasons)
        decided = (f"<p>{html.escape(review.state.replace('_', ' '))} by key <code>{html.escape(review.reviewer_key)}"
                   f"</code> at {when}{' for ' + html.escape(why) if why else ''}"
                   f"{': “' + html.escape(review.comment) + '”' if review.comment else ''}</p>")
    return (f"<h3>{html.escape(_product_label(asset))} {ui_render.verdict_badge(review.verdict)} "
            f"{_state_badge(review.state)}</h3>"
            f"<p><code>{html.escape(review.asset_id)}</code> · brand {html.escape(review.brand)} · made by key "
            f"<code>{html.escape(review.generated_by)}</code> · job {html.escape(review.job_id)} · review version "
            f"{review.version}</p>{decided}")


def _evidence(asset):
    """The asset's pixels with its report's findings drawn (as the designer tab and report.html draw them)."""
    from PIL import Image

    from adgen.compliance.report import Report

    if asset is None:
        return None, []
    report = Report.from_dict(asset.report or {})
    try:
        with Image.open(asset.image_path) as picture:
            drawn = ui_render.draw_findings(picture, report)
    except OSError:
        drawn = None
    return drawn, ui_render.findings_rows(report.findings)


def _variants(siblings: list, asset) -> list:
    """Thumbnails of the same product and format from the same job, captioned with verdict and review state."""
    from PIL import Image

    shown = []
    for sibling in siblings:
        try:
            with Image.open(sibling.image_path) as picture:
                thumb = picture.convert("RGB")
                thumb.thumbnail((VARIANT_THUMB_PX, VARIANT_THUMB_PX))
        except OSError:
            continue
        here = "▶ " if sibling.id == asset.id else ""
        shown.append((thumb, f"{here}v{sibling.variant} {ui_render.STATUS_ICONS.get(sibling.verdict, '?')} · "
                             f"{sibling.review_state.replace('_', ' ')}"))
    return shown
