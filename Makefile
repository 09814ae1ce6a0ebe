# Inverse Problems in Imaging — one environment in ./.venv, built once, reused.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed
JOBS   ?= 2
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: help install lab test test-browser test-hub site student bench clean

help:
	@echo "make lab      open the course in JupyterLab"
	@echo "make test     run every test: library, generator, both notebook folders"
	@echo "make student  regenerate notebooks/ from solutions/"
	@echo "make test-browser  run every notebook in JupyterLab in Chromium, move every widget"
	@echo "make site     build the static course book in docs/_build/html"
	@echo "make test-hub start a JupyterHub on 127.0.0.1, three students run notebooks 01 and 03"
	@echo "make bench    time every notebook and widget, print markdown tables"

install: $(STAMP)

# Rebuilt only when the dependency list changes. torch is pinned and installed first so
# that pip takes the CPU build (an unpinned torch would pull a multi-GB CUDA build).
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
	$(PIP) install --quiet "torch==2.13.0" 2>&1 | grep -v "^WARNING: Location" || true
	$(PIP) install --quiet -e ".[test,dev,browser,site,hub]" 2>&1 | grep -v "^WARNING: Location" || true
	$(PY) -c "import course_utils, torch, nbval, jupyterlab" 
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks/

# Also strips outputs from solutions/ (committed notebooks carry none).
student: $(STAMP)
	$(PY) -m course_utils.student --strip solutions notebooks

# Each of the $(JOBS) workers (and the notebook kernels they start) uses one thread, so
# BLAS and torch do not oversubscribe the cores.
test: $(STAMP)
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 \
	$(PY) -m pytest -n $(JOBS) --dist loadfile -p no:cacheprovider tests \
	    --nbval-lax --nbval-current-env --nbval-sanitize-with tests/sanitize.cfg \
	    solutions notebooks

# JupyterLab in Debian's Chromium (apt-get install chromium when missing; never a browser
# download), driven by playwright: Run All in every notebook, then every widget's first control.
test-browser: $(STAMP) docs/_build/html/index.html
	@command -v chromium >/dev/null || $(SUDO) apt-get install -y -q chromium >/dev/null \
	    || { echo "test-browser: Chromium is missing; install it with: apt-get install -y chromium"; exit 1; }
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 \
	$(PY) tests/browser/run_lab.py $(BROWSER_ARGS)

site: $(STAMP)
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 \
	$(PY) docs/build.py

# test-browser also checks the site: build it first if it was never built.
docs/_build/html/index.html:
	$(MAKE) site

test-hub: $(STAMP)
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 \
	$(PY) deploy/test_hub.py

# e.g. make bench BENCH_ARGS="--only widgets --quick"
bench: $(STAMP)
	$(PY) -m benchmarks.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache benchmarks/results
