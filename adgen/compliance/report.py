"""Findings and reports: compliance results are data, never exceptions."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from adgen.geometry import Box

STATUS_ORDER = {"skip": 0, "pass": 1, "warn": 2, "fail": 3}


@dataclass(frozen=True)
class Finding:
    """One rule's result on one element."""

    rule: str
    status: str                 # pass | warn | fail | skip
    severity: str               # error | warning | info
    message: str
    measured: object = None
    threshold: object = None
    element: str | None = None  # layer name, e.g. headline, logo
    box: Box | None = None
    # Evidence beyond a box: outlines (polygons of (x, y) px) of a segmented subject, drawn by reports.
    outline: tuple[tuple[tuple[int, int], ...], ...] | None = None
    # Named evidence boxes, drawn by reports whatever the status: (label, box), e.g. the band under
    # a product's base and the plate beside it that product.grounded compared.
    regions: tuple[tuple[str, Box], ...] | None = None
    # Evidence on a printed page (PDF preflight): the 1-based page and the area as (left, top,
    # right, bottom) mm from the page's top-left corner; reports draw it on the rendered page.
    page: int | None = None
    box_mm: tuple[float, float, float, float] | None = None

    def as_dict(self) -> dict:
        data = asdict(self)
        data["box"] = list(self.box.as_tuple()) if self.box else None
        data["outline"] = [[list(p) for p in polygon] for polygon in self.outline] if self.outline else None
        data["regions"] = [{"label": label, "box": list(box.as_tuple())} for label, box in self.regions] \
            if self.regions else None
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "Finding":
        """The inverse of as_dict (a stored report read back, e.g. to draw its evidence); unknown keys are ignored."""
        values = {f.name: data[f.name] for f in fields(cls) if f.name in data}
        values.setdefault("severity", "info")
        values.setdefault("message", "")
        if values.get("box"):
            values["box"] = Box(*values["box"])
        if values.get("outline"):
            values["outline"] = tuple(tuple(tuple(point) for point in polygon) for polygon in values["outline"])
        if values.get("regions"):
            values["regions"] = tuple((region["label"], Box(*region["box"])) for region in values["regions"])
        return cls(**values)


@dataclass(frozen=True)
class Report:
    findings: tuple[Finding, ...] = ()
    attempts: tuple[dict, ...] = field(default=())

    @property
    def verdict(self) -> str:
        """Worst status over the findings; skips do not count."""
        worst = max((STATUS_ORDER[f.status] for f in self.findings), default=1)
        return {0: "pass", 1: "pass", 2: "warn", 3: "fail"}[worst]

    def failed(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.status == "fail")

    @classmethod
    def from_dict(cls, data: dict) -> "Report":
        """The inverse of as_dict: a report as stored with an asset (report.json, the service's store)."""
        return cls(findings=tuple(Finding.from_dict(f) for f in data.get("findings", ())),
                   attempts=tuple(data.get("attempts", ())))

    def as_dict(self) -> dict:
        return {"verdict": self.verdict, "findings": [f.as_dict() for f in self.findings],
                "attempts": list(self.attempts)}
