"""A built wheel, installed into a fresh venv outside the repo, is a working adgen (data and model inside).

The venv reuses this interpreter's site-packages for the dependencies (a .pth file: torch and the rest
are not installed twice); adgen itself comes only from the wheel. Nothing runs from the checkout.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def _source_tree(target: Path) -> Path:
    """The files git would commit (tracked, and new ones not ignored), copied: the build never writes into REPO."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=REPO,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        if (REPO / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, target / name)
    return target


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """bin/ of a fresh venv with only the built wheel's adgen in it."""
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("needs a git checkout to know which files to build from")
    root = tmp_path_factory.mktemp("wheel")
    source = _source_tree(root / "src")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    root / "dist", source], check=True)
    wheel = next((root / "dist").glob("adgen-*.whl"))
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "zz-adgen-test-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "-q", wheel], check=True)
    return venv / "bin"


def _run(bin_dir: Path, cwd: Path, *args) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "ADGEN_BRAND_KITS", "ADGEN_LORA", "ADGEN_FORMATS", "ADGEN_PROMPTS")}
    env.update(PYTHONWARNINGS="ignore", COLUMNS="200", ADGEN_HOME=str(cwd / ".adgen-home"))
    return subprocess.run([bin_dir / "adgen", *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=900)


def test_the_wheel_carries_adgen_and_not_the_checkout(installed, tmp_path):
    where = subprocess.run([installed / "python", "-c", "import adgen.settings as s; print(s.PACKAGE_DIR); "
                            "print(s.bundled('brand_kits'))"], cwd=tmp_path, capture_output=True, text=True,
                           check=True, env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    package, kits = where.stdout.split()
    assert Path(package).is_relative_to(installed.parent) and Path(kits).is_relative_to(Path(package))


def test_adgen_demo_from_a_wheel_outside_the_repo(installed, tmp_path):
    done = _run(installed, tmp_path, "demo", "--out", "out")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    rows = list(csv.DictReader((tmp_path / "out" / "manifest.csv").open(encoding="utf-8")))
    assert len(rows) >= 10 and all((tmp_path / "out" / r["path"]).is_file() for r in rows)
    report = json.loads((tmp_path / "out" / rows[0]["report"]).read_text(encoding="utf-8"))
    assert report["recipe"]["model"] == "adgen-tiny" and report["recipe"]["adapter"]  # bundled model and adapter
    assert Path(report["recipe"]["adapter"]).is_relative_to(installed.parent)


def test_a_kit_made_with_init_is_used_from_the_project_folder(installed, tmp_path):
    assert _run(installed, tmp_path, "init", "brand", "acme").returncode == 0
    product = tmp_path / "product.yaml"
    product.write_text("sku: AC-1\nname: Acme Beans\nheadline: Fresh beans every week\nprice: 9.99\ncta: Shop now\n")
    made = _run(installed, tmp_path, "generate", "--brand", "acme", "--product", product, "--format", "iab-300x250",
                "--steps", "2", "--out", "out")
    assert made.returncode in (0, 1), made.stderr[-3000:]
    assert (tmp_path / "out" / "AC-1" / "iab-300x250-v1.jpg").is_file()
