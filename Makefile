# aksmesh.istio developer entry points. See README.md.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The collection is importable as ansible_collections/aksmesh/istio through a
# symlink farm in .build/ (no build, no install): ANSIBLE_COLLECTIONS_PATH
# points there.
COLLROOT := $(CURDIR)/.build/collections
export ANSIBLE_COLLECTIONS_PATH := $(COLLROOT)
export ANSIBLE_ROLES_PATH := $(CURDIR)/roles
export PATH := $(CURDIR)/$(BIN):$(PATH)
export PYTHONPATH := $(COLLROOT)

.PHONY: setup tools docs demo test lint sanity unit unit-minimum test-minimum integration molecule bench clean

# The parts that start or talk to the test cluster run in a loopback-only network namespace.
NETNS := tools/netns-run
# pytest-xdist workers, each with a cluster of its own in a network namespace of its own (tests/conftest.py)
TEST_WORKERS ?= 2

$(BIN)/.installed: requirements/dev.txt requirements/test.txt requirements/runtime.txt requirements/constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c requirements/constraints.txt -r requirements/dev.txt
	touch $@

# ansible-test's own pinned tools go into venvs it makes itself; this venv only runs ansible-test.
.venv-sanity/.installed: requirements/constraints.txt
	$(PYTHON) -m venv .venv-sanity
	.venv-sanity/bin/pip install --quiet --disable-pip-version-check -c requirements/constraints.txt ansible-core
	touch $@

# The oldest supported runtime libraries (requirements/minimum.txt) with the test tools only.
MINVENV := .venv-minimum
$(MINVENV)/.installed: requirements/test.txt requirements/runtime.txt requirements/minimum.txt
	$(PYTHON) -m venv $(MINVENV)
	$(MINVENV)/bin/pip install --quiet --disable-pip-version-check -c requirements/minimum.txt -r requirements/test.txt
	touch $@

$(COLLROOT)/ansible_collections/aksmesh/istio:
	mkdir -p $(COLLROOT)/ansible_collections/aksmesh
	ln -sfn $(CURDIR) $@

setup: $(BIN)/.installed $(COLLROOT)/ansible_collections/aksmesh/istio

# Pinned upstream tools (kube-apiserver, etcd, kwok, kubectl, istioctl, helm, ...) built from the Go module
# proxy into ~/.cache/aksmesh/tools (AKSMESH_TOOLS_CACHE); a second run builds nothing. See docs/testing.md.
tools:
	$(PYTHON) tools/build.py

# render mode writes the control plane as `istioctl manifest generate` makes it: the pinned istioctl (and helm,
# which packages the charts of the same Istio module) are built first when they are not cached
demo: setup
	$(PYTHON) tools/build.py --only helm,istio
	PATH=$(CURDIR)/.build/tools/bin:$$PATH $(BIN)/ansible-playbook -i inventory/demo site.yml

# docs/stages.md from the stage registry (a unit test fails when it is stale)
docs: setup
	$(BIN)/python tools/stages_doc.py

unit: setup
	$(BIN)/pytest -q tests/unit

# The unit tests on the minimum versions: part of make test (seconds; about a minute the first time, for the venv).
unit-minimum: $(MINVENV)/.installed $(COLLROOT)/ansible_collections/aksmesh/istio
	$(MINVENV)/bin/pytest -q -p no:cacheprovider tests/unit

# Also the Azure modules through those SDKs against the loopback ARM: about 3 minutes more, so not in make test.
test-minimum: $(MINVENV)/.installed $(COLLROOT)/ansible_collections/aksmesh/istio tools
	$(NETNS) $(MINVENV)/bin/pytest -q -p no:cacheprovider tests/unit tests/integration/azure \
		tests/integration/harness/test_arm_sdk.py

integration: setup tools
	$(NETNS) $(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadfile tests/integration

lint: setup
	$(BIN)/ansible-lint --profile production

sanity: setup .venv-sanity/.installed
	tests/sanity/run.sh

molecule: setup tools
	$(NETNS) $(BIN)/molecule test --all

test: setup tools
	$(NETNS) env AKSMESH_REQUIRE_CLUSTER=1 $(BIN)/pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile --durations=25 tests
	$(MAKE) --no-print-directory unit-minimum
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory sanity
	$(MAKE) --no-print-directory molecule

bench: setup tools
	$(NETNS) $(BIN)/python tests/bench/run.py

clean:
	rm -rf .build .venv .venv-sanity .venv-minimum .pytest_cache .ansible
