# The two set-up commands: `make serve` (build the index over a corpus, then serve it) and
# `make test` (the whole test suite). Both create .venv and install everything on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The reference corpus beside the checkout when there is one, else the project's corpus folder.
CORPUS ?= $(if $(wildcard ../shared/corpus/MANIFEST.tsv),../shared/corpus,corpus)
PYTEST_ARGS ?=
BENCH_ARGS ?=

.PHONY: install serve test bench clean

install: $(VENV)/.installed

# torch is installed first and pinned: a plain `torch` requirement can pull a multi-GB CUDA build.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test,milvus]'
	touch $@

serve: install
	$(BIN)/policyqa serve --corpus $(CORPUS)

# pytest, then the Milvus store against a real Milvus server in a loopback-only network namespace.
test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	bash .ci/milvus-tests

# The performance benchmarks (`policyqa bench --help`); e.g. make bench BENCH_ARGS=--quick
bench: install
	$(BIN)/policyqa bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .policyqa .pytest_cache .hypothesis
