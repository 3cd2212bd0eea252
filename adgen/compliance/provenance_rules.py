"""label.ai-metadata: the shipped bytes say they are AI-generated, in XMP (IPTC, TC260) and a valid C2PA manifest."""

from __future__ import annotations

from adgen.compliance.report import Finding
from adgen.compliance.subject import CheckSubject

AI_SOURCE_TYPES = ("trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia")


def ai_metadata(subject: CheckSubject) -> list[Finding]:
    """label.ai-metadata: C2PA manifest valid, IPTC DigitalSourceType an AI type, TC260 AIGC Label present."""
    if subject.encoded is None:
        return [Finding("label.ai-metadata", "skip", "error", "no encoded file to read back")]
    generated = subject.is_generated
    if generated is False:
        return [Finding("label.ai-metadata", "skip", "error", "not AI-generated, as the caller says: no AI label due")]
    if subject.file_type not in ("png", "jpeg"):
        if generated is None:
            return [Finding("label.ai-metadata", "skip", "error", _UNKNOWN)]
        return [Finding("label.ai-metadata", "fail", "error",
                        f"{subject.file_type} carries no C2PA or XMP label adgen can read",
                        measured=subject.file_type, threshold=["png", "jpeg"])]
    from adgen.provenance import verify_provenance

    read = verify_provenance(subject.encoded, subject.file_type)
    source = (read.digital_source_type or "").rsplit("/", 1)[-1]
    label = (read.tc260_label or {}).get("Label")
    if generated is None and not (read.c2pa_state or source in AI_SOURCE_TYPES or label):
        # A file from elsewhere that claims nothing: a real photo is not AI-made, so nothing is due
        # unless the caller says it was generated (then every label is required).
        return [Finding("label.ai-metadata", "skip", "error", _UNKNOWN)]
    problems = []
    if not read.c2pa_valid:
        problems.append(f"C2PA {read.c2pa_state or 'missing'}: {read.c2pa_message}")
    if source not in AI_SOURCE_TYPES:
        problems.append(f"IPTC DigitalSourceType {source or 'missing'}")
    if label not in ("1", "2", "3"):
        problems.append(f"TC260 AIGC Label {label or 'missing'}")
    return [Finding("label.ai-metadata", "fail" if problems else "pass", "error",
                    "; ".join(problems) or f"C2PA {read.c2pa_state}, IPTC {source}, TC260 Label {label}",
                    measured={"c2pa": read.c2pa_state, "digital_source_type": source or None, "tc260_label": label},
                    threshold={"c2pa": "Valid", "digital_source_type": list(AI_SOURCE_TYPES), "tc260_label": "1"})]


_UNKNOWN = ("provenance unknown: no AI label in the file and the caller did not say it was generated "
            "(--generated requires the labels)")
