# Two commands on a fresh machine:  `make demo` (index this repository, show a search)
# and `make test` (the whole suite). Both set up .venv first.

VENV   ?= .venv
PY     := $(VENV)/bin/python
# The CPU build of PyTorch. Here it lies on local disk; elsewhere, to avoid a multi-GB CUDA
# download, run: make setup TORCH="torch --index-url https://download.pytorch.org/whl/cpu"
TORCH  ?= torch==2.13.0
QUERY  ?= split a syntax node that is over the token budget into windows

export HF_HUB_OFFLINE := 1

.PHONY: setup demo test lint bench bench-backends bench-scale bench-quality dev clean

setup: $(VENV)/.installed

# What indexing and searching need (`make demo`), one line per step.
$(VENV)/.base: pyproject.toml
	@echo "setup 1/4: a virtual environment in $(VENV)"
	@python3 -m venv $(VENV)
	@echo "setup 2/4: pip"
	@$(PY) -m pip install --quiet --upgrade pip
	@echo "setup 3/4: PyTorch, the CPU build ($(TORCH))"
	@$(PY) -m pip install --quiet $(TORCH)
	@echo "setup 4/4: semcode and what it runs on (Dagster, LanceDB, tree-sitter, the model)"
	@$(PY) -m pip install --quiet -e .
	@touch $@

# Then what developing semcode needs (`make test`): test and lint tools, the browser driver,
# and the Kubernetes and Celery deployments' packages. dagster-k8s and dagster-celery follow
# dagster's patch releases; the registry here has 0.29.27 (for dagster 1.13.27), not 0.29.28:
# taken without their pins, last, for the deployment tests only.
$(VENV)/.installed: $(VENV)/.base
	@echo "setup: test and lint tools"
	@$(PY) -m pip install --quiet -e ".[dev]"
	@echo "setup: the Kubernetes deployment's packages (for its test)"
	@$(PY) -m pip install --quiet "kubernetes<37" "google-auth!=2.23.1"
	@$(PY) -m pip install --quiet --no-deps dagster-k8s==0.29.27
	@echo "setup: the Celery deployment's packages (for the cluster tests)"
	@$(PY) -m pip install --quiet "celery[redis]>=5.4,<6"
	@$(PY) -m pip install --quiet --no-deps dagster-celery==0.29.27
	@touch $@

demo: $(VENV)/.base
	$(VENV)/bin/semcode index .
	$(VENV)/bin/semcode search "$(QUERY)" -k 3

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

test: lint
	$(PY) -m pytest

bench: setup
	$(PY) bench/full_index.py
	$(PY) bench/incremental.py
	$(PY) bench/fixed_cost.py

# every backend's speed and fidelity on the same chunks (~6 min here)
bench-backends: setup
	$(PY) bench/backends.py

# Linux 6.1 drivers/ (31,596 files) with the static tier: ~10 min here, ~1 GB download
bench-scale: setup
	$(PY) bench/scale.py

bench-quality: setup
	$(PY) -m pip install --quiet -e ".[bench]"
	$(PY) bench/quality.py

# The UI on this repository, on its index's own instance (.semcode/dagster, where
# `semcode index` records its runs too); the instance config limits index runs to one at a time.
dev: setup
	mkdir -p .semcode/dagster && cp -n dagster.yaml .semcode/dagster/dagster.yaml
	SEMCODE_REPO=$(CURDIR) DAGSTER_HOME=$(CURDIR)/.semcode/dagster \
	  $(VENV)/bin/dagster dev -w workspace.yaml -p 3000

clean:
	rm -rf .semcode .dagster_home .pytest_cache
