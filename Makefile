# Kadra — `make run` runs the whole system, `make test` runs every suite.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PACKAGES := kadra_defaults services/identity services/users services/devices services/notify gateway clients/mobile
PYPROJECTS := $(addsuffix /pyproject.toml,$(PACKAGES))

.PHONY: help venv infra infra-down cluster cluster-down test-cluster reliability-cluster run run-image image kube-play compose test fuzz reliability test-unit bench bench-scale k8s-check constraints clean

help: ## Show this help
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-18s %s\n", $$1, $$2}'

$(VENV)/.installed: $(PYPROJECTS) constraints.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt $(addprefix -e ,$(PACKAGES)) -r requirements-dev.txt
	@touch $@

venv: $(VENV)/.installed ## Create the virtual environment and install every package

infra: ## Bring up RabbitMQ and the database (idempotent)
	@scripts/infra.sh up

infra-down: ## Stop RabbitMQ and the database
	@scripts/infra.sh down

cluster: ## A three-node RabbitMQ cluster beside the single node (AMQP 5681-5683, management 15681-15683; idempotent)
	@scripts/infra.sh cluster up

cluster-down: ## Stop the three cluster nodes (by pid file; the single node on 5672 keeps running)
	@scripts/infra.sh cluster down

run: venv $(if $(filter 1,$(KADRA_FROM_IMAGE)),image) ## Run the whole system (Ctrl-C stops it; KADRA_REPLICAS=2: two of everything); a bad KADRA_* setting stops it first, with one line
	@$(VENV)/bin/kadra-check-settings
	@scripts/infra.sh up
	@$(PY) scripts/run.py

run-image: venv image ## Run the whole system as containers of the image (KADRA_FROM_IMAGE=1 make run)
	@$(VENV)/bin/kadra-check-settings
	@scripts/infra.sh up
	@KADRA_FROM_IMAGE=1 $(PY) scripts/run.py

image: ## Build the container image (podman on a debootstrapped base made once, or Docker); prints size and time
	@scripts/image.sh build

kube-play: venv infra image ## The dev overlay (kustomize) under podman kube play: probes, a smoke journey, then down
	@$(PY) scripts/kube_play.py

compose: venv infra image ## deploy/compose.yaml under podman-compose (backends built locally): health, smoke journey, down
	@$(PY) scripts/compose_play.py $(if $(filter 1,$(KEEP)),--keep)

test: venv infra image ## Run every suite against the real parts (installs Debian's chromium once; builds the image for tests/image)
	@$(PY) tests/support/browser.py install
	@KADRA_TEST_BROKER_RESTART=1 $(PY) -m pytest

fuzz: venv infra ## Fuzz every route from the OpenAPI document (>= 5,000 cases; KADRA_FUZZ_CASES, KADRA_FUZZ_SEED)
	@KADRA_FUZZ_LARGE=1 $(PY) -m pytest -q -s tests/fuzz -k large

reliability: venv infra cluster ## Fault injection under load, long form: one node, two replicas, and two replicas on the three-node cluster (make test runs a short form)
	@KADRA_RELIABILITY=full $(PY) -m pytest -p no:randomly -s -m reliability tests/reliability
	@KADRA_RELIABILITY=full KADRA_TEST_CLUSTER=1 $(PY) -m pytest -p no:randomly -s -m reliability tests/cluster

test-cluster: venv infra cluster ## tests/cluster against the three-node RabbitMQ cluster (quorum queues everywhere; not in make test)
	@KADRA_TEST_CLUSTER=1 $(PY) -m pytest -p no:randomly -m "not reliability" tests/cluster

reliability-cluster: venv infra cluster ## The cluster's faults alone: a node SIGKILLed under load (notify alone, the whole system, two replicas of everything); a replica of each SIGKILLed
	@KADRA_TEST_CLUSTER=1 $(PY) -m pytest -p no:randomly -s -m reliability tests/cluster

test-unit: venv ## Unit tests only (no network)
	@$(PY) -m pytest -m "not integration and not e2e" kadra_defaults services gateway clients

bench: venv infra ## Benchmarks on the running system, printed as ratios to baselines
	@$(PY) bench/run.py

bench-scale: venv infra ## make bench on an empty and a seeded system side by side, in interleaved rounds (100k accounts, 300k audit entries...; KADRA_SCALE, KADRA_SCALE_ROUNDS, KADRA_SCALE_PARTS, KADRA_REST_SECONDS), its own FerretDB
	@$(PY) bench/scale.py

k8s-check: ## Render every kustomize overlay and validate it offline against the Kubernetes schemas
	@scripts/k8s_check.sh

constraints: ## Re-pin third-party versions from the current environment
	@{ sed -n '/^#/p' constraints.txt; $(PY) -m pip freeze --exclude-editable | grep -v -e '^-e' -e ' @ file:'; } > constraints.tmp && mv constraints.tmp constraints.txt

clean: ## Remove the virtual environment and local state (stops nothing)
	rm -rf $(VENV) .kadra
