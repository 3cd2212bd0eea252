"""Shared fixtures: hermetic state, tiny real pipelines saved as local diffusers folders."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"


@pytest.fixture(autouse=True)
def hermetic_home(tmp_path, monkeypatch):
    """Every test gets its own ADGEN_HOME; no test sees another's state or the user's."""
    monkeypatch.setenv("ADGEN_HOME", str(tmp_path / "adgen-home"))
    monkeypatch.setenv("ADGEN_BRAND_KITS", str(REPO / "brand_kits"))
    monkeypatch.setenv("ADGEN_LORA", str(REPO / "lora"))
    monkeypatch.setenv("ADGEN_DEVICE", "cpu")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    yield


@pytest.fixture(scope="session")
def torch_warm():
    """Import torch and run one op so the first test does not carry start-up time."""
    import torch

    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    torch.ones(8) @ torch.ones(8)
    return torch


@pytest.fixture(scope="session")
def sd15_dir(tmp_path_factory, torch_warm):
    from tiny_pipelines import build_sd15, save

    return save(build_sd15(seed=0), tmp_path_factory.mktemp("models") / "tiny-sd15")


@pytest.fixture(scope="session")
def sdxl_dir(tmp_path_factory, torch_warm):
    from tiny_pipelines import build_sdxl, save

    return save(build_sdxl(seed=0), tmp_path_factory.mktemp("models") / "tiny-sdxl")


@pytest.fixture
def cold_brew():
    from adgen.spec import load_product

    return load_product(EXAMPLES / "products" / "northwind-cold-brew.yaml")


# Debian's Chromium, driven through playwright (never `playwright install`: no downloads).
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.is_file():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
