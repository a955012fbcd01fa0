# ovsmesh.overlay: the two commands are `make demo` and `make test` (see README.md).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
LAB_HOSTS ?= 3
LAB_NAME ?= lab
LAB_INVENTORY := inventories/lab/hosts.yml
COLLECTION_TREE := build/ansible_collections/ovsmesh/overlay
# Molecule scenarios, in the order make test runs them (each brings up and removes its own lab).
SCENARIOS ?= $(notdir $(patsubst %/molecule.yml,%,$(wildcard molecule/*/molecule.yml)))
export PATH := $(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg

.PHONY: help venv deps lab lab-down lab-status demo verify test lint sanity unit molecule bench clean

help:
	@echo "make demo      bring up $(LAB_HOSTS) lab hosts and run site.yml + verify on them"
	@echo "make test      lint, ansible-test sanity, unit tests, every Molecule scenario"
	@echo "make lab       lab hosts only (LAB_HOSTS=N); make lab-down removes them"
	@echo "make bench     benchmarks (not part of make test)"

# --- toolchain: one pinned list (requirements-dev.txt), one venv ------------------------------
$(VENV)/.stamp: requirements-dev.txt
	@command -v $(PYTHON) >/dev/null
	@$(PYTHON) -c 'import venv, ensurepip' 2>/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

venv: $(VENV)/.stamp

# Machine packages the lab and tests use (Docker engine, debootstrap, ssh client).
deps:
	@missing=""; for c in dockerd:docker.io debootstrap:debootstrap ssh-keygen:openssh-client ssh:openssh-client; do \
	  command -v $${c%%:*} >/dev/null || missing="$$missing $${c##*:}"; done; \
	if [ -n "$$missing" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi

# --- the lab -----------------------------------------------------------------------------------
lab: deps venv
	$(PYTHON) lab/labctl.py up --name $(LAB_NAME) --hosts $(LAB_HOSTS) --inventory $(LAB_INVENTORY)

lab-down:
	$(PYTHON) lab/labctl.py down --name $(LAB_NAME) --inventory $(LAB_INVENTORY)

lab-status:
	$(PYTHON) lab/labctl.py status --name $(LAB_NAME)

demo: lab
	$(BIN)/ansible-playbook -i inventories/lab site.yml
	$(BIN)/ansible-playbook -i inventories/lab playbooks/verify.yml

# --- tests -------------------------------------------------------------------------------------
test: lint sanity unit molecule

lint: venv
	$(BIN)/yamllint -s .
	$(BIN)/ansible-lint --profile production
	$(BIN)/antsibull-changelog lint

# ansible-test runs on the collection as it is shipped: build the artifact (galaxy.yml's
# build_ignore leaves the lab, benchmarks and CI out) and unpack it at
# build/ansible_collections/ovsmesh/overlay, in a git tree of its own so ansible-test sees its files.
# Its --venv bootstrap downloads get-pip.py from the internet; a stand-in that uses ensurepip is
# put in its cache instead (shared/LAB-NOTES.md).
sanity: venv
	rm -rf build && mkdir -p build/dist $(COLLECTION_TREE)
	$(BIN)/ansible-galaxy collection build --force --output-path build/dist .
	tar -xzf build/dist/ovsmesh-overlay-*.tar.gz -C $(COLLECTION_TREE)
	cd $(COLLECTION_TREE) && printf "/tests/output/\n" > .gitignore && git init -q && git add -A
	mkdir -p ~/.ansible/test/cache
	test -s ~/.ansible/test/cache/get_pip_24_2.py || printf 'import ensurepip\nensurepip.bootstrap(upgrade=True)\n' > ~/.ansible/test/cache/get_pip_24_2.py
	cd $(COLLECTION_TREE) && $(BIN)/ansible-test sanity --venv --python 3.11 --requirements --color no

unit: venv
	$(BIN)/python -m pytest -q tests/unit

molecule: deps venv
	@for s in $(SCENARIOS); do echo "=== molecule scenario $$s"; $(BIN)/molecule test -s $$s || exit 1; done

bench: venv
	$(BIN)/python bench/run.py

clean: lab-down
	rm -rf build tests/output
