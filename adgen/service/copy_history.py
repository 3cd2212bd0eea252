"""Approved copy goes to the brand's copy history (knowledge kind copy-history) on approval.

The copy is what the approved asset shows: the text layers of its report document
(<stem>.report.json beside the image, written by adgen.export), one line per layer. It is
stored in the tenant's knowledge base for the brand as the file approved-<asset id>.txt, so
approving again (an approval withdrawn, then given) replaces rather than repeats it.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

log = logging.getLogger("adgen.api")


def approved_copy(image_path: str) -> str:
    """The asset's copy, 'layer: text' per line, from its report document; '' when it has none."""
    image = Path(image_path)
    report = image.with_name(f"{image.stem}.report.json")
    if not report.is_file():
        return ""
    layers = json.loads(report.read_text()).get("layers", [])
    return "\n".join(f"{layer['name']}: {layer['text']}" for layer in layers
                     if layer.get("kind") == "text" and (layer.get("text") or "").strip())


def remember_approved_copy(asset, review) -> bool:
    """Add the approved asset's copy to the brand's copy history; False when it has no copy."""
    from adgen.knowledge import KnowledgeBase

    text = approved_copy(asset.image_path)
    if not text:
        return False
    try:
        KnowledgeBase(review.tenant, review.brand).add_bytes([(f"approved-{asset.id}.txt", text.encode())],
                                                             "copy-history")
    except Exception:  # the decision stands either way; the log says why the copy was not kept
        log.exception("copy history for %s", asset.id)
        return False
    return True


def remember_in_background(jobs, review) -> threading.Thread | None:
    """Keep an approval's copy without making the decision wait for the embedding (HTTP and the app).

    `jobs` is the service's JobStore; None when the asset is gone or the decision was not an approval."""
    if review.state != "approved":
        return None
    asset = jobs.get_asset(review.asset_id, tenant=review.tenant)
    if asset is None:
        return None
    thread = threading.Thread(target=remember_approved_copy, args=(asset, review), name=f"copy-{review.asset_id}",
                              daemon=True)
    thread.start()
    return thread
