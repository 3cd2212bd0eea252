"""Format rules: pixel size, file type, file size of the bytes that ship, safe zone."""

from __future__ import annotations

from adgen.compliance.report import Finding
from adgen.compliance.subject import CheckSubject
from adgen.geometry import Box


def size(subject: CheckSubject) -> list[Finding]:
    """format.size: the image is exactly the format's pixel size."""
    actual = subject.image.size
    expected = subject.format.size.as_tuple()
    ok = actual == expected
    return [Finding("format.size", "pass" if ok else "fail", "error",
                    f"{actual[0]}x{actual[1]} px" + ("" if ok else f", expected {expected[0]}x{expected[1]}"),
                    measured=list(actual), threshold=list(expected))]


def file_type(subject: CheckSubject) -> list[Finding]:
    """format.file-type: the encoding is one the format accepts."""
    if subject.file_type is None:
        return [Finding("format.file-type", "skip", "error", "no encoded file to check")]
    ok = subject.file_type in subject.format.file_types
    return [Finding("format.file-type", "pass" if ok else "fail", "error",
                    f"{subject.file_type}" + ("" if ok else f" not accepted ({', '.join(subject.format.file_types)})"),
                    measured=subject.file_type, threshold=list(subject.format.file_types))]


def file_size(subject: CheckSubject) -> list[Finding]:
    """format.file-size: the shipped bytes fit the slot's limit (KB = 1024 bytes)."""
    if subject.encoded is None:
        return [Finding("format.file-size", "skip", "error", "no encoded file to check")]
    kb = len(subject.encoded) / 1024
    ok = kb <= subject.format.max_kb
    return [Finding("format.file-size", "pass" if ok else "fail", "error",
                    f"{kb:.1f} KB of {subject.format.max_kb} KB", measured=round(kb, 1),
                    threshold=subject.format.max_kb)]


def safe_zone(subject: CheckSubject) -> list[Finding]:
    """layout.safe-zone: text, logo and marks sit inside the format's safe area."""
    if subject.composition is None:
        return [Finding("layout.safe-zone", "skip", "warning", "no layers: image was not laid out by adgen")]
    safe = subject.format.safe_area.box(subject.format.size)
    findings = []
    for layer in subject.composition.layers:
        if layer.name == "product":
            continue  # the product may bleed into margins; only copy and brand marks must stay clear
        inside = safe.contains(layer.box)
        findings.append(Finding("layout.safe-zone", "pass" if inside else "fail", "error",
                                "inside the safe area" if inside else "outside the safe area",
                                measured=list(layer.box.as_tuple()), threshold=list(safe.as_tuple()),
                                element=layer.name, box=layer.box))
    return findings or [Finding("layout.safe-zone", "pass", "error", "nothing to keep clear")]


def full_box(subject: CheckSubject) -> Box:
    return Box(0, 0, *subject.image.size)
