"""Build step: the repo's top-level data folders go into the wheel as adgen/bundled/<name>.

Everything else is in pyproject.toml. The folders stay at the top level of the checkout (tests,
docs and the Makefile use them there); adgen.settings.bundled() finds them in either place.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
BUNDLED = ("brand_kits", "prompts", "lora", "examples")  # default kits, prompts, adapters, demo inputs
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", "*.py", "*.tmp")  # examples/*.py are repo tools


class BuildPyWithBundledData(build_py):
    def run(self):
        super().run()
        for name in BUNDLED:
            target = Path(self.build_lib) / "adgen" / "bundled" / name
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(ROOT / name, target, ignore=SKIP)


setup(cmdclass={"build_py": BuildPyWithBundledData})
