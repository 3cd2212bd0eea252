"""A training folder from reviewers' decisions (`adgen lora train --from-approved`, source "approved").

The job worker keeps each asset's plate (<stem>.plate.png) and the prompt it was made from
(<stem>.plate.txt) beside the asset. Approved assets' plates become the training images with
their prompts as captions; rejected assets with the reason off_brand_colour become the eval's
negatives (adgen.training.adapter_eval). Reads the service's SQLite file; writes nothing there.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from adgen.errors import NotFoundError
from adgen.service_db import connect, service_db_path

NEGATIVE_REASON = "off_brand_colour"


@dataclass(frozen=True)
class ApprovedSet:
    images: Path             # approved plates + .txt captions
    negatives: Path | None   # rejected off-brand-colour plates, None when there are none
    approved: int
    negative: int
    missing: int             # decided assets whose plate file is gone (or made before plates were kept)


def build_approved_set(brand: str, tenant: str | None, folder: Path, *, db: Path | None = None) -> ApprovedSet:
    """Copy the tenant's approved plates of `brand` (and its off-brand-colour rejects) into `folder`;
    tenant None: every tenant's (the operator training the server-wide adapter)."""
    db = db or service_db_path()
    if not Path(db).is_file():
        raise NotFoundError("no service database: nothing has been reviewed yet", file=str(db))
    with connect(db, write=False) as conn:
        rows = conn.execute(
            "SELECT reviews.asset_id, reviews.state, reviews.reasons, assets.plate_path FROM reviews"
            " JOIN assets ON assets.id = reviews.asset_id WHERE (reviews.tenant = ? OR ? IS NULL) AND reviews.brand = ?"
            " AND reviews.state IN ('approved', 'rejected') ORDER BY reviews.created_at, reviews.asset_id",
            (tenant, tenant, brand)).fetchall()
    images, negatives = Path(folder) / "approved", Path(folder) / "negatives"
    images.mkdir(parents=True, exist_ok=True)
    approved = negative = missing = 0
    for row in rows:
        plate = Path(row["plate_path"]) if row["plate_path"] else None
        reasons = json.loads(row["reasons"]) if row["reasons"] else []
        wanted = row["state"] == "approved" or NEGATIVE_REASON in reasons
        if not wanted:
            continue
        if plate is None or not plate.is_file():
            missing += 1
            continue
        if row["state"] == "approved":
            shutil.copy2(plate, images / f"{row['asset_id']}.png")
            caption = plate.with_suffix(".txt")
            if caption.is_file():
                shutil.copy2(caption, images / f"{row['asset_id']}.txt")
            approved += 1
        else:
            negatives.mkdir(exist_ok=True)
            shutil.copy2(plate, negatives / f"{row['asset_id']}.png")
            negative += 1
    if not approved:
        raise NotFoundError(f"no approved asset of brand {brand} has a kept plate to train on "
                            f"({missing} decided without one)", field="brand", value=brand)
    return ApprovedSet(images, negatives if negative else None, approved, negative, missing)
