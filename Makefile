# Both targets create .venv when it is missing: torch first, pinned, then the package and its
# dev extras. The pin fixes the version, not the build: PyPI's Linux x86-64 torch is the CUDA
# build; TORCH_INDEX=<PyTorch's CPU wheel index> gets the CPU one (see README).
VENV ?= .venv
TORCH_INDEX ?=
PY := $(VENV)/bin/python
STAMP := $(VENV)/.adgen-installed

.PHONY: demo test bench clean

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0 $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(PY) -m pip install -q -e '.[dev]'
	# The reference dwtDctSvd watermark the tests hold adgen's to, pixel for pixel. --no-deps: it
	# asks for opencv-python, which would clash with our opencv-python-headless (same cv2 module).
	$(PY) -m pip install -q --no-deps invisible-watermark==0.2.0
	# The client generator the OpenAPI test runs. --no-deps: it caps typer below 0.28 (ours is newer, and
	# it runs with it); its other needs (attrs, ruamel.yaml, ruff, httpx, jinja2, pydantic) are in [dev].
	$(PY) -m pip install -q --no-deps openapi-python-client==0.29.1
	touch $(STAMP)

demo: $(STAMP)
	# The bundled brands' example knowledge (brand book, claim evidence) backs copy.claim-substantiated.
	for b in northwind sakura; do for k in guideline claim-evidence; do \
	  $(VENV)/bin/adgen kb add --brand $$b --kind $$k brand_kits/$$b/knowledge/$$k/* || exit 1; done; done
	# Exit 1 means an asset failed a rule and is still written, marked fail: the demo shows that on purpose
	# (claims its example evidence does not back). Exit 2, unusable input or a crash, fails the target.
	$(VENV)/bin/adgen demo --out out/demo || [ $$? -eq 1 ]

test: $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) -m bench

clean:
	rm -rf out .pytest_cache
