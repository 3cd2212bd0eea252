"""The adapter registry: numbered versions of each brand's LoRA, and which one is active.

    $ADGEN_HOME/lora/<brand>/v<n>/                    the CLI's (tenant "local") versions
    $ADGEN_HOME/lora/_tenants/<tenant>/<brand>/v<n>/  a service tenant's versions
    .../<brand>/active.json                           the active version and how it got there

Each v<n>/ is a complete adapter folder (weights + adapter.json, as adgen.adapters loads it)
with the registry's fields added to adapter.json: version, parent (the version active when it
was trained), created_at, training_data (what it learnt from), eval (adgen.training.adapter_eval).

The bundled brand kits are read-only (they ship inside the wheel), so the active version is
not written into brand.yaml: `load_brand` reads active.json and points the kit's `adapter`
at the active version's weights (apply_active). A brand without an active version keeps the
adapter its kit names. `promote` refuses a version that does not improve on the one active
now (promotion_gate) unless forced; `rollback` returns to the version active before.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from adgen.adapters import ADAPTER_INFO_FILE, adapter_file
from adgen.errors import InputError, NotFoundError
from adgen.settings import adgen_home

LOCAL_TENANT = "local"
ACTIVE_FILE = "active.json"
EVAL_GRID_FILE = "eval_grid.png"
_VERSION_DIR = re.compile(r"^v([1-9][0-9]{0,5})$")
_SAFE_TENANT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class PromotionRefused(InputError):
    """The version does not improve on the active one (or was not evaluated against it)."""


@dataclass(frozen=True)
class AdapterVersion:
    """One registered adapter: brand, version number, its folder and its adapter.json."""

    brand: str
    version: int
    path: Path
    info: dict

    @property
    def weights(self) -> Path:
        return adapter_file(self.path)

    @property
    def label(self) -> str:
        return f"{self.brand}/v{self.version}"

    @property
    def figures(self) -> dict | None:
        """The eval's figures per condition (base, adapter, previous), or None before an eval."""
        return (self.info.get("eval") or {}).get("conditions")

    @property
    def grid(self) -> Path | None:
        path = self.path / EVAL_GRID_FILE
        return path if path.is_file() else None


def registry_dir(brand: str, tenant: str = LOCAL_TENANT) -> Path:
    """Where a tenant's versions of one brand's adapter live (brand ids never start with '_')."""
    if tenant == LOCAL_TENANT:
        return adgen_home() / "lora" / brand
    # A tenant is an API key's name: any text. One that is not a safe folder name gets its digest.
    folder = tenant if _SAFE_TENANT.match(tenant or "") else "t-" + hashlib.sha256(tenant.encode()).hexdigest()[:20]
    return adgen_home() / "lora" / "_tenants" / folder / brand


def versions(brand: str, tenant: str = LOCAL_TENANT) -> list[AdapterVersion]:
    """Every trained version, oldest first (a folder without adapter.json is a run that did not finish)."""
    root = registry_dir(brand, tenant)
    found = []
    for folder in root.iterdir() if root.is_dir() else ():
        match = _VERSION_DIR.match(folder.name)
        if match and (folder / ADAPTER_INFO_FILE).is_file():
            found.append(AdapterVersion(brand, int(match.group(1)), folder, _read_json(folder / ADAPTER_INFO_FILE)))
    return sorted(found, key=lambda v: v.version)


def get_version(brand: str, version: int, tenant: str = LOCAL_TENANT) -> AdapterVersion:
    """One version; NotFoundError naming it when this tenant has no such version."""
    for candidate in versions(brand, tenant):
        if candidate.version == version:
            return candidate
    raise NotFoundError("no such adapter version", field="version", value=f"{brand}/v{version}")


def new_version_dir(brand: str, tenant: str = LOCAL_TENANT) -> tuple[int, Path]:
    """Claim the next v<n>/ folder (mkdir is the lock: two trainings at once get different numbers)."""
    root = registry_dir(brand, tenant)
    root.mkdir(parents=True, exist_ok=True)
    taken = [int(m.group(1)) for m in (_VERSION_DIR.match(p.name) for p in root.iterdir()) if m]
    number = max(taken, default=0) + 1
    while True:
        try:
            (root / f"v{number}").mkdir()
            return number, root / f"v{number}"
        except FileExistsError:
            number += 1


def update_info(entry: AdapterVersion, **fields) -> AdapterVersion:
    """Merge fields into the version's adapter.json (written atomically); the version re-read."""
    info = {**entry.info, **fields}
    _write_json(entry.path / ADAPTER_INFO_FILE, info)
    return AdapterVersion(entry.brand, entry.version, entry.path, info)


def active(brand: str, tenant: str = LOCAL_TENANT) -> AdapterVersion | None:
    """The active version, or None (the kit's own adapter applies)."""
    number = _active_record(brand, tenant).get("version")
    if number is None:
        return None
    try:
        return get_version(brand, number, tenant)
    except NotFoundError:
        return None  # its folder was removed by hand: as if none were active


def comparable(entry: AdapterVersion | None, base_model_sha256: str) -> AdapterVersion | None:
    """`entry` when it was trained on this base (an eval can only compare versions on one base), else None."""
    if entry is None or entry.info.get("base_model_sha256") not in (None, base_model_sha256):
        return None
    return entry


def promotion_gate(candidate: AdapterVersion, current: AdapterVersion | None) -> str | None:
    """Why `candidate` may not replace `current` (None: it may).

    It must have been evaluated against the version active now, bring plates closer to the
    palette (mean CIEDE2000) than that version (or than the base without any adapter when none
    is active), and not raise the stray-text rate.
    """
    figures = candidate.figures
    if not figures:
        return f"{candidate.label} has not been evaluated: run `adgen lora eval --brand {candidate.brand} " \
               f"--version {candidate.version}` first"
    evaluated_against = (candidate.info.get("eval") or {}).get("previous_version")
    if current is not None and evaluated_against != current.version:
        return (f"{candidate.label} was evaluated against "
                f"{'no active version' if evaluated_against is None else f'v{evaluated_against}'}, but "
                f"{current.label} is active now: evaluate it again")
    reference_name = "previous" if current is not None else "base"
    reference, mine = figures.get(reference_name), figures.get("adapter")
    if not reference or not mine:
        return f"{candidate.label}'s eval has no {reference_name} figures: evaluate it again"
    what = current.label if current is not None else "the base model without an adapter"
    if mine["palette_de00"] >= reference["palette_de00"]:
        return (f"{candidate.label} does not bring plates closer to the palette than {what}: mean ΔE00 "
                f"{mine['palette_de00']:.2f} against {reference['palette_de00']:.2f} (lower is closer)")
    if mine["stray_text_rate"] > reference["stray_text_rate"]:
        return (f"{candidate.label} draws text on more plates than {what}: stray-text rate "
                f"{mine['stray_text_rate']:.2f} against {reference['stray_text_rate']:.2f}")
    return None


def promote(brand: str, version: int, tenant: str = LOCAL_TENANT, *, force: bool = False,
            actor: str | None = None) -> AdapterVersion:
    """Make `version` active; PromotionRefused (naming why) when it does not improve, unless `force`."""
    candidate = get_version(brand, version, tenant)
    with _locked(brand, tenant):  # two admins at once: the second decides on what the first left
        current = active(brand, tenant)
        if current is not None and current.version == candidate.version:
            return candidate
        reason = promotion_gate(candidate, current)
        if reason and not force:
            raise PromotionRefused(f"not promoted: {reason} (--force promotes anyway)", field="version",
                                   value=candidate.label)
        record = _active_record(brand, tenant)
        history = [*record.get("history", []), {"version": candidate.version, "at": time.time(), "by": actor,
                                               "forced": bool(reason), "gate": reason}]
        _write_json(registry_dir(brand, tenant) / ACTIVE_FILE, {"version": candidate.version, "history": history})
    return candidate


def rollback(brand: str, tenant: str = LOCAL_TENANT, *, actor: str | None = None) -> AdapterVersion | None:
    """Return to the version active before this one (None: back to the kit's own adapter)."""
    with _locked(brand, tenant):
        return _rollback(brand, tenant, actor)


def _rollback(brand: str, tenant: str, actor: str | None) -> AdapterVersion | None:
    record = _active_record(brand, tenant)
    if record.get("version") is None:
        raise InputError("no adapter version is active for this brand: nothing to roll back", field="brand",
                         value=brand)
    history = list(record.get("history", []))
    # The active version's promotion is the last entry; the one before it (still present) is what was active.
    while history and history[-1]["version"] == record["version"]:
        history.pop()
    present = {v.version for v in versions(brand, tenant)}
    while history and history[-1]["version"] not in present:
        history.pop()
    previous = history[-1]["version"] if history else None
    entry = {"version": previous, "at": time.time(), "by": actor, "rollback_from": record["version"]}
    _write_json(registry_dir(brand, tenant) / ACTIVE_FILE,
                {"version": previous, "history": history, "rollbacks": [*record.get("rollbacks", []), entry]})
    return get_version(brand, previous, tenant) if previous is not None else None


def apply_active(kit, tenant: str = LOCAL_TENANT):
    """The kit with its `adapter` pointing at the tenant's active version (the kit as it was when none)."""
    current = active(kit.id, tenant)
    if current is None:
        return kit
    from adgen.brand import Adapter

    trigger = current.info.get("trigger") or (kit.adapter.trigger if kit.adapter else "")
    weight = kit.adapter.weight if kit.adapter else Adapter.model_fields["weight"].default
    # An absolute file: adgen.settings.find_adapter joins it onto a root, which keeps it as it is.
    return kit.model_copy(update={"adapter": Adapter(file=current.weights.resolve(), trigger=trigger, weight=weight)})


def version_of(adapter_path: Path | None) -> str | None:
    """'<brand>/v<n>' for weights inside the registry (recipes record it), else None."""
    if adapter_path is None:
        return None
    folder = Path(adapter_path).parent
    match = _VERSION_DIR.match(folder.name)
    if not match or not (folder / ADAPTER_INFO_FILE).is_file():
        return None
    return f"{folder.parent.name}/v{match.group(1)}"


@contextmanager
def _locked(brand: str, tenant: str):
    """An exclusive lock on the brand's active.json (flock: released if the process dies)."""
    import fcntl

    root = registry_dir(brand, tenant)
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _active_record(brand: str, tenant: str) -> dict:
    path = registry_dir(brand, tenant) / ACTIVE_FILE
    return _read_json(path) if path.is_file() else {}


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read {path.name}: {exc}", file=str(path)) from None


def _write_json(path: Path, data: dict) -> None:
    temp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    temp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    temp.replace(path)
