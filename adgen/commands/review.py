"""`adgen review list|approve|request-changes|reject|audit`: the review queue of a local service home.

They work on ADGEN_HOME's store directly, as `adgen keys` does: whoever can run them can read
that folder. Decisions are made as an API key (`--key-id`, alias `--reviewer`), by the same
rules as POST /v1/assets/{id}/review (adgen.service.reviews), and land in the same audit log.
The asset.reviewed webhook is sent by the server only.
"""

from __future__ import annotations

import datetime as dt
from typing import List, Optional

import typer
from rich.console import Console
from rich.table import Column, Table

app = typer.Typer(help="Review and approval: the review queue, decisions and the audit log of ADGEN_HOME.",
                  no_args_is_help=True)
console = Console()
KEY_ID = typer.Option(..., "--key-id", "--reviewer", help="Id of the reviewer's API key (`adgen keys list`).")


@app.command("list")
def list_command(key_id: str = KEY_ID,
                 state: Optional[str] = typer.Option(None, "--state", help="pending, approved, changes_requested "
                                                                           "or rejected."),
                 brand: Optional[str] = typer.Option(None, "--brand", help="Only this brand.")) -> None:
    """The key's tenant's assets with their review state, oldest first."""
    from adgen.errors import InputError
    from adgen.service.reviews import STATES

    if state is not None and state not in STATES:
        raise InputError(f"state must be one of {', '.join(STATES)}", field="--state", value=state)
    from adgen.service.store import JobStore
    from adgen.service_db import service_db_path

    key = _key(key_id)
    jobs = JobStore(service_db_path())
    table = Table(Column("asset", no_wrap=True, min_width=24), "product", "brand", "verdict", "state", "reviewer",
                  "comment")
    for review in _store().list(key.tenant, state=state, brand=brand, brands=key.brands):
        asset = jobs.get_asset(review.asset_id, key.tenant)
        product = f"{asset.sku} {asset.format} v{asset.variant}" if asset else ""
        table.add_row(review.asset_id, product, review.brand, review.verdict, review.state, review.reviewer_key or "",
                      review.comment or "")
    console.print(table)


@app.command("approve")
def approve(asset_id: str = typer.Argument(..., help="Asset id (ast_...)."), key_id: str = KEY_ID,
            comment: Optional[str] = typer.Option(None, "--comment", help="Why; needed to approve a warn verdict."),
            expected_state: Optional[str] = typer.Option(None, "--expected-state",
                                                         help="The state you decided from (default: as read now).")
            ) -> None:
    """Approve an asset."""
    _decide(asset_id, key_id, "approved", comment, [], expected_state)


@app.command("request-changes")
def request_changes(asset_id: str = typer.Argument(..., help="Asset id (ast_...)."), key_id: str = KEY_ID,
                    reason: List[str] = typer.Option([], "--reason", help="off_brand_colour, product_looks_wrong, "
                                                                          "copy, legal or other; repeatable."),
                    comment: Optional[str] = typer.Option(None, "--comment"),
                    expected_state: Optional[str] = typer.Option(None, "--expected-state")) -> None:
    """Ask for changes (the asset stays unpublished; it can still be approved or rejected later)."""
    _decide(asset_id, key_id, "changes_requested", comment, reason, expected_state)


@app.command("reject")
def reject(asset_id: str = typer.Argument(..., help="Asset id (ast_...)."), key_id: str = KEY_ID,
           reason: List[str] = typer.Option([], "--reason", help="off_brand_colour, product_looks_wrong, copy, "
                                                                 "legal or other; repeatable."),
           comment: Optional[str] = typer.Option(None, "--comment"),
           expected_state: Optional[str] = typer.Option(None, "--expected-state")) -> None:
    """Reject an asset, for good: it is never served as approved."""
    _decide(asset_id, key_id, "rejected", comment, reason, expected_state)


@app.command("audit")
def audit_command(key_id: str = KEY_ID,
                  format: str = typer.Option("csv", "--format", help="csv, json, or text (a sentence each).")) -> None:
    """Print the tenant's audit log (reviewer and admin keys)."""
    from adgen.errors import InputError
    from adgen.service import audit

    if format not in audit.FORMATS:
        raise InputError("format must be csv, json or text", field="--format", value=format)
    key = _key(key_id)
    if not key.may_decide:
        raise InputError("the audit log is for reviewer and admin keys", field="--key-id", value=key_id)
    typer.echo(audit.export(_store().audit(key.tenant, key.brands), format), nl=False)


def _decide(asset_id: str, key_id: str, decision: str, comment, reasons, expected_state) -> None:
    from adgen.errors import InputError, NotFoundError
    from adgen.service.reviews import Decision, ReviewConflict, ReviewForbidden

    key, store = _key(key_id), _store()
    current = store.get(asset_id, key.tenant)
    if current is None:
        raise NotFoundError("no such asset", field="asset_id", value=asset_id)
    try:
        review, replayed = store.decide(asset_id, key, Decision(decision, comment, tuple(reasons),
                                                                expected_state or current.state))
    except ReviewForbidden as refused:
        raise InputError(refused.message, field="--key-id", value=key_id) from None
    except ReviewConflict as conflict:
        raise InputError(conflict.message, field="--expected-state", value=conflict.current.state) from None
    if review.state == "approved" and not replayed:
        _remember_copy(review)
    when = dt.datetime.fromtimestamp(review.decided_at, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    console.print(f"{review.asset_id}: {review.state} by {review.reviewer_key} ({review.reviewer_tenant}) at {when}"
                  f"{' (already decided)' if replayed else ''}", highlight=False)


def _remember_copy(review) -> None:
    """The approved asset's copy to the brand's copy history, before the command exits (HTTP does it in the background)."""
    from adgen.service.copy_history import remember_approved_copy
    from adgen.service.store import JobStore
    from adgen.service_db import service_db_path

    asset = JobStore(service_db_path()).get_asset(review.asset_id, tenant=review.tenant)
    if asset is not None and remember_approved_copy(asset, review):
        console.print(f"its copy joins {review.brand}'s copy history (tenant {review.tenant})", highlight=False)


def _key(key_id: str):
    from adgen.apikeys import ensure_schema, get_key
    from adgen.errors import NotFoundError
    from adgen.service_db import service_db_path

    ensure_schema(service_db_path())
    key = get_key(key_id)
    if key is None or key.revoked_at is not None:
        raise NotFoundError("no such live API key", field="--key-id", value=key_id)
    return key


def _store():
    from adgen.service.reviews import ReviewStore
    from adgen.service_db import service_db_path

    return ReviewStore(service_db_path())
