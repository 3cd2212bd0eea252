"""Knowledge-base routes: a brand's documents for this key's tenant — upload, list, search, remove.

Tenant- and brand-scoped like everything else: the key must be scoped to the brand, and each
tenant has its own knowledge base per brand (adgen.knowledge), which no other tenant sees.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Path, Query, UploadFile
from pydantic import BaseModel, ConfigDict, Field

from adgen.errors import AdgenError, InputError
from adgen.service.auth import KeyDep
from adgen.service.core import ERRORS, ServiceDep, require_brand
from adgen.service.cost import Busy
from adgen.service.routes_jobs import busy_error

router = APIRouter(tags=["knowledge"])
BrandId = Annotated[str, Path(max_length=64, description="Brand kit id.")]
Kind = Literal["guideline", "claim-evidence", "copy-history"]
MAX_FILES = 20


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class KbAddedOut(_Frozen):
    files: int
    added: int = Field(description="Passages embedded and stored.")
    kept: int = Field(description="Passages unchanged since the file was last added.")
    removed: int = Field(description="Passages the new version of a file no longer has.")


class KbSourceOut(_Frozen):
    source: str = Field(description="File name as uploaded.")
    kind: Kind
    passages: int
    pages: int | None = Field(description="PDF pages with text; null for other files.")


class KbHitOut(_Frozen):
    score: float = Field(description="0-1, higher is closer.")
    source: str
    page: int | None
    heading: str | None
    kind: Kind
    text: str


class KbRemovedOut(_Frozen):
    removed: int = Field(description="Passages removed.")


def _kb(key, brand_id: str):
    from adgen.brand import load_brand
    from adgen.knowledge import KnowledgeBase

    require_brand(key, brand_id)
    return KnowledgeBase(key.tenant, load_brand(brand_id).id)


@router.post("/v1/brands/{brand_id}/kb", response_model=KbAddedOut, responses=ERRORS)
def add_documents(key: KeyDep, service: ServiceDep, brand_id: BrandId,
                  files: Annotated[list[UploadFile], File(description="PDF (text layer), Markdown, HTML or text.")],
                  kind: Annotated[Kind, Form(description="guideline, claim-evidence or copy-history.")]) -> KbAddedOut:
    """Add documents; re-adding a file (same name) replaces only its changed passages. All or none are stored.

    Heavy (embedding): one at a time per tenant, like /v1/check.
    """
    kb = _kb(key, brand_id)
    if len(files) > MAX_FILES:
        raise InputError(f"at most {MAX_FILES} files per upload", field="files", value=len(files))
    limit = service.settings.limits.max_upload_bytes
    named = []
    for upload in files:
        data = upload.file.read(limit + 1)
        if len(data) > limit:
            raise InputError(f"file is over {limit} bytes", field="files", value=upload.filename)
        named.append((_file_name(upload.filename), data))
    try:
        with service.heavy.hold(key.tenant):
            added = kb.add_bytes(named, kind)
    except Busy as busy:
        raise busy_error(busy) from None
    except AdgenError as exc:
        if exc.file is None:
            raise
        # The error answer carries field and value, not file: the file is the caller's own upload name.
        raise InputError(exc.reason, field="files", value=exc.file) from None
    return KbAddedOut(**vars(added))


@router.get("/v1/brands/{brand_id}/kb", response_model=list[KbSourceOut], responses=ERRORS)
def list_documents(key: KeyDep, brand_id: BrandId) -> list[KbSourceOut]:
    """Files in this tenant's knowledge base for the brand."""
    return [KbSourceOut(**row) for row in _kb(key, brand_id).sources()]


@router.get("/v1/brands/{brand_id}/kb/search", response_model=list[KbHitOut], responses=ERRORS)
def search_documents(key: KeyDep, brand_id: BrandId,
                     q: Annotated[str, Query(min_length=1, max_length=500, description="What to look for.")],
                     kind: Annotated[Kind | None, Query(description="Only this kind of document.")] = None,
                     limit: Annotated[int, Query(ge=1, le=50, description="Passages to return.")] = 5) -> list[KbHitOut]:
    """Passages closest to the query, best first, with score, source and page."""
    return [KbHitOut(**hit.as_dict()) for hit in _kb(key, brand_id).search(q, k=limit, kind=kind)]


@router.delete("/v1/brands/{brand_id}/kb/{source}", response_model=KbRemovedOut, responses=ERRORS)
def remove_document(key: KeyDep, brand_id: BrandId,
                    source: Annotated[str, Path(max_length=255, description="File name as listed.")]) -> KbRemovedOut:
    """Remove one file's passages."""
    kb = _kb(key, brand_id)
    try:
        return KbRemovedOut(removed=kb.remove(source))
    except AdgenError as exc:
        raise InputError(exc.reason, field="source", value=source) from None


def _file_name(name: str | None) -> str:
    """The upload's base name: a client's folders are not the server's business."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not base or base in (".", ".."):
        raise InputError("each file needs a name with its type's suffix, e.g. brand-book.pdf", field="files",
                         value=name)
    return base[:255]
