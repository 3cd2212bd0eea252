"""Every ```bash example in README.md and docs/*.md runs, in a temp folder, and exits as the doc says.

The convention (also in README's "Docs that run"):
- each ```bash block is a script run with `bash -e -o pipefail`; the blocks of one file run in order in
  one temp folder, so a later block may use what an earlier one made;
- the folder holds `examples/` (the repo's, as in a checkout); `adgen` is this checkout's code, on the
  embedded adgen-tiny model; ADGEN_HOME is a temp folder and no ADGEN_BRAND_KITS/ADGEN_LORA is set, so
  kits and adapters are found in the documented search order;
- `<!-- doc-test: exit N -->` on the line before a block: it must exit N (default 0);
- `<!-- doc-test: skip (reason) -->` before a block, or `<!-- doc-test: skip-file (reason) -->` anywhere
  in a file, skips it; the reason is required. ```console blocks are transcripts (with output), not run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOC_FILES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
FENCE = re.compile(r"(?:^<!-- doc-test: (?P<marker>[^>]*?) -->\n)?^```(?P<lang>bash|sh|shell)\n(?P<body>.*?)^```",
                   re.M | re.S)
SKIP_FILE = re.compile(r"<!-- doc-test: skip-file \((?P<reason>[^)]+)\) -->")


def blocks(path: Path) -> list[tuple[int, str, str]]:
    """(line, marker, script) of each shell block in a doc file."""
    text = path.read_text(encoding="utf-8")
    return [(text[: m.start("body")].count("\n"), m.group("marker") or "", m.group("body"))
            for m in FENCE.finditer(text)]


def _runnable(path: Path) -> list:
    if SKIP_FILE.search(path.read_text(encoding="utf-8")):
        return []
    found = []
    for line, marker, script in blocks(path):
        if marker.startswith("skip"):
            assert re.fullmatch(r"skip \(.+\)", marker), f"{path.name}:{line}: a skip needs a reason in ()"
            continue
        expected = 0
        if marker:
            exit_marker = re.fullmatch(r"exit (\d+)", marker)
            assert exit_marker, f"{path.name}:{line}: unknown doc-test marker {marker!r}"
            expected = int(exit_marker.group(1))
        found.append((line, script, expected))
    return found


DOCS_WITH_EXAMPLES = [p for p in DOC_FILES if _runnable(p)]


def _shell_env(folder: Path) -> dict:
    shims = folder.parent / "bin"
    shims.mkdir(exist_ok=True)
    (shims / "adgen").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m adgen "$@"\n')
    (shims / "adgen").chmod(0o755)
    (shims / "python").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    (shims / "python").chmod(0o755)
    env = {k: v for k, v in os.environ.items()
           if k not in ("ADGEN_BRAND_KITS", "ADGEN_LORA", "ADGEN_FORMATS", "ADGEN_PROMPTS")}
    env.update(PATH=f"{shims}{os.pathsep}{env.get('PATH', '')}", PYTHONPATH=str(REPO), PYTHONWARNINGS="ignore",
               COLUMNS="200", ADGEN_HOME=str(folder.parent / "adgen-home"))
    return env


def test_the_doc_examples_are_found():
    """The convention is applied: some docs have runnable examples, and every skip has its reason."""
    assert {p.name for p in DOCS_WITH_EXAMPLES} >= {"README.md", "batch.md"}


@pytest.mark.parametrize("doc", DOCS_WITH_EXAMPLES, ids=[p.name for p in DOCS_WITH_EXAMPLES])
def test_doc_examples_run_and_exit_as_documented(doc, tmp_path):
    folder = tmp_path / "project"
    folder.mkdir()
    # The docs are written from the repo root: its example inputs and bundled kits (their knowledge too).
    # Each kit is linked inside a folder of the test's own, so `adgen init brand` writes here, not in the repo.
    (folder / "examples").symlink_to(REPO / "examples")
    for kit in (REPO / "brand_kits").iterdir():
        (folder / "brand_kits").mkdir(exist_ok=True)
        (folder / "brand_kits" / kit.name).symlink_to(kit)
    env = _shell_env(folder)
    for line, script, expected in _runnable(doc):
        done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], cwd=folder, env=env,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == expected, (
            f"{doc.relative_to(REPO)}:{line}: exit {done.returncode}, the doc says {expected}\n{script}\n"
            f"--- stdout\n{done.stdout[-2000:]}\n--- stderr\n{done.stderr[-3000:]}")
