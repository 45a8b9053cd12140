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

.PHONY: setup tools docs demo test checks compute-checks lint sanity unit unit-minimum test-minimum core-matrix integration molecule bench clean

# The parts that start or talk to the test cluster run in a loopback-only network namespace.
NETNS := tools/netns-run
# pytest-xdist workers, each with a cluster of its own in a network namespace of its own (tests/conftest.py); three on
# two cores: the site and traffic tests wait on rollouts and polls more than they compute
TEST_WORKERS ?= 3

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

# The older ansible-core lines meta/runtime.yml claims (requirements/core-lines.txt: 2.16, 2.17, 2.18), a venv each:
# the test tools and runtime libraries of test.txt, then that line's ansible-core in place of test.txt's pin (pip
# cannot override a requirement's pin with a constraint, so it is a second install; it also takes resolvelib back
# below 1.1, as those lines require).
CORE_LINES := $(shell sed -n 's/^ansible-core==\([0-9]*\.[0-9]*\)\..*/\1/p' requirements/core-lines.txt)
.venv-core-%/.installed: requirements/test.txt requirements/runtime.txt requirements/core-lines.txt
	$(PYTHON) -m venv .venv-core-$*
	.venv-core-$*/bin/pip install --quiet --disable-pip-version-check -r requirements/test.txt
	.venv-core-$*/bin/pip install --quiet --disable-pip-version-check \
		"$$(grep -m1 '^ansible-core==$*\.' requirements/core-lines.txt)"
	.venv-core-$*/bin/python -c 'import ansible.release as r, sys; sys.exit(not r.__version__.startswith("$*."))'
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
# The demo renders with the istioctl make tools builds from the pinned Istio source (tools/tools.lock.json), which
# reports its own version: no 1.30 build resolves from the module proxy (docs/testing.md). inventory/demo asks for
# the release a real run downloads; the render refuses an istioctl of another version, so the demo asks for the one it
# has, and says so. The cluster-only tasks a render skips are left out of the output (ANSIBLE_DISPLAY_SKIPPED_HOSTS),
# so what ran shows.
PINNED_ISTIO := $(shell $(PYTHON) -c 'import json; print(json.load(open("tools/tools.lock.json"))["tools"]["istio"]["istio_version"])')
DEMO_VARS := {"aksmesh_istio_version": "$(PINNED_ISTIO)", "aksmesh_istioctl_download": false}
demo: setup
	$(PYTHON) tools/build.py --only helm,istio
	@echo "make demo: rendering Istio $(PINNED_ISTIO), the istioctl built from the pinned source (tools/tools.lock.json),"
	@echo "  not inventory/demo's aksmesh_istio_version: no 1.30 build resolves from the Go module proxy (docs/testing.md)"
	PATH=$(CURDIR)/.build/tools/bin:$$PATH ANSIBLE_DISPLAY_SKIPPED_HOSTS=false \
		$(BIN)/ansible-playbook -i inventory/demo site.yml -e '$(DEMO_VARS)'

# docs/stages.md from the stage registry, docs/rbac.md from the permissions table (unit tests fail when stale)
docs: setup
	$(BIN)/python tools/stages_doc.py
	$(BIN)/python tools/rbac_doc.py

unit: setup
	$(BIN)/pytest -q tests/unit

# The unit tests on the minimum versions: part of make test (seconds; about a minute the first time, for the venv).
unit-minimum: $(MINVENV)/.installed $(COLLROOT)/ansible_collections/aksmesh/istio
	$(MINVENV)/bin/pytest -q -p no:cacheprovider -n 2 tests/unit

# Also the Azure modules through those SDKs against the loopback ARM: about 3 minutes more, so not in make test.
test-minimum: $(MINVENV)/.installed $(COLLROOT)/ansible_collections/aksmesh/istio tools
	$(NETNS) $(MINVENV)/bin/pytest -q -p no:cacheprovider tests/unit tests/integration/azure \
		tests/integration/harness/test_arm_sdk.py

# The older ansible-core lines (requirements/core-lines.txt), each in its venv: the unit tests, the demo render
# compared with the dev venv's (diff -r: the same files, byte for byte), and a --tags mtls render that writes the mTLS
# stage's folder only (the stages' include_tasks apply their tags on each line). Part of make test: about a minute
# warm, and about 20 seconds more per venv the first time (docs/testing.md). The renders and logs stay in
# CORE_MATRIX_DIR.
CORE_MATRIX_DIR := $(CURDIR)/.build/core-matrix
core-matrix: setup $(COLLROOT)/ansible_collections/aksmesh/istio $(CORE_LINES:%=.venv-core-%/.installed)
	$(PYTHON) tools/build.py --only helm,istio
	rm -rf $(CORE_MATRIX_DIR) && mkdir -p $(CORE_MATRIX_DIR)
	@render() { \
		line=$$1; dir=$(CORE_MATRIX_DIR)/$$2; shift 2; \
		PATH=$$bin:$(CURDIR)/.build/tools/bin:$$PATH ansible-playbook -i inventory/demo site.yml "$$@" \
			-e '$(DEMO_VARS)' -e "{\"aksmesh_render_dir\": \"$$dir\"}" > $$dir.log 2>&1 \
			|| { tail -n 40 $$dir.log; echo "ansible-core $$line: the render failed, see $$dir.log"; return 1; }; \
	}; \
	set -e; \
	bin=$(abspath $(BIN)); render "$$($$bin/python -c 'import ansible.release as r; print(r.__version__)')" dev; \
	for line in $(CORE_LINES); do \
		bin=$(CURDIR)/.venv-core-$$line/bin; \
		echo "ansible-core $$line ($$($$bin/python -c 'import ansible.release as r; print(r.__version__)')): unit tests"; \
		PATH=$$bin:$$PATH $$bin/pytest -q -p no:cacheprovider -n 2 tests/unit; \
		echo "ansible-core $$line: the demo render, compared with the dev venv's; --tags mtls"; \
		render $$line $$line; \
		diff -r $(CORE_MATRIX_DIR)/dev $(CORE_MATRIX_DIR)/$$line \
			|| { echo "ansible-core $$line: the render differs from the dev venv's"; exit 1; }; \
		render $$line $$line-mtls --tags mtls; \
		test "$$(ls $(CORE_MATRIX_DIR)/$$line-mtls)" = 40-mtls \
			|| { echo "ansible-core $$line: --tags mtls wrote $$(ls $(CORE_MATRIX_DIR)/$$line-mtls)"; exit 1; }; \
	done

integration: setup tools
	$(NETNS) $(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadfile tests/integration

lint: setup
	$(BIN)/ansible-lint --profile production

sanity: setup .venv-sanity/.installed
	tests/sanity/run.sh

molecule: setup tools
	$(NETNS) $(BIN)/molecule test --all

# The checks besides pytest: those that only compute (no cluster, no timeouts), then Molecule. make checks runs them
# all, one after the other.
COMPUTE_CHECKS := unit-minimum core-matrix lint sanity
CHECKS := $(COMPUTE_CHECKS) molecule
each_check = @for check in $(1); do $(MAKE) --no-print-directory $$check || { echo "make checks: $$check failed"; exit 1; }; done
checks:
	$(call each_check,$(CHECKS))

compute-checks:
	$(call each_check,$(COMPUTE_CHECKS))

# pytest keeps about 1.8 of the 2 cores busy, less in its last minutes: the compute checks run beside it at the lowest
# priority (nice 19), on what pytest leaves idle, never slowing it (its clusters' waits have timeouts); their output is
# kept in .build/checks.log and printed after pytest's. Then Molecule, which runs a cluster of its own, alone.
test: setup tools
	@nice -n 19 $(MAKE) --no-print-directory compute-checks > .build/checks.log 2>&1 & checks=$$!; \
	trap 'kill $$checks 2>/dev/null' INT TERM; \
	rm -f .build/playbooks.jsonl .build/api-servers.jsonl; \
	$(NETNS) env AKSMESH_REQUIRE_CLUSTER=1 AKSMESH_PLAYBOOK_LOG=$(CURDIR)/.build/playbooks.jsonl \
		$(BIN)/pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile --durations=40 tests; tested=$$?; \
	wait $$checks; checked=$$?; \
	echo "== make compute-checks, run beside pytest ($(COMPUTE_CHECKS)): exit status $$checked"; \
	cat .build/checks.log; \
	test $$tested -eq 0 -a $$checked -eq 0
	$(MAKE) --no-print-directory molecule

bench: setup tools
	$(NETNS) $(BIN)/python tests/bench/run.py

clean:
	rm -rf .build .venv .venv-sanity .venv-minimum .venv-core-* .pytest_cache .ansible
