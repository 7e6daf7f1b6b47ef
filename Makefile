# Sluice. `make test` is what CI runs (.ci/run, with CI=true): it installs the
# servers the tests start (redis-server, versitygw) and kcat when missing,
# then runs every test with the race detector. Under CI=true a test whose
# server is missing fails instead of skipping.

SHELL       := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build

GO          ?= go
VERSITYGW   := github.com/versity/versitygw/cmd/versitygw@v1.8.0
# Debian names these packages after the binaries they install.
APT_PKGS    := redis-server kcat
FUZZTIME    ?= 30s
# sudo only when needed: CI and containers run as root and may lack it.
SUDO        := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: build deps test test-unit test-integration kgo-suite bench fuzz lint fmt tf-fmt tf-validate

build:
	$(GO) build -o bin/sluice ./cmd/sluice

deps: bin/versitygw
	@missing=""; \
	for bin in $(APT_PKGS); do command -v $$bin >/dev/null || missing="$$missing $$bin"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if ! command -v apt-get >/dev/null; then \
		echo "deps: missing:$$missing; install them with your package manager" >&2; exit 1; \
	fi; \
	echo "deps: installing$$missing"; \
	$(SUDO) apt-get update -qq; \
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing

# Built from source with the Go toolchain: no other download is needed.
bin/versitygw:
	GOBIN=$(CURDIR)/bin $(GO) install $(VERSITYGW)

test: deps
	$(GO) test -race -timeout 25m ./...

# -short: the testenv harness skips every test that needs a real server.
test-unit:
	$(GO) test -race -short ./...

test-integration: deps
	$(GO) test -race -timeout 25m ./integration/...

# franz-go's own kgo integration suite against `sluice agent` on its own
# redis-server and versitygw, from a scratch module in a temporary directory.
# Not part of test: it takes two to eight minutes. KGO_SUITE_RUN and
# KGO_SUITE_SKIP narrow it (see integration/kgo-suite.sh).
kgo-suite: deps
	integration/kgo-suite.sh

# Starts its own redis-server, versitygw and agent; BENCH_FLAGS adds flags
# (see go run ./cmd/sluice bench -h).
bench: deps
	$(GO) build -o bin/sluice ./cmd/sluice
	bin/sluice bench --json bench-results/bench.json $(BENCH_FLAGS)

# Runs each Fuzz target for FUZZTIME; go test -fuzz takes one target of one
# package at a time.
fuzz:
	@$(GO) test -list '^Fuzz' ./... \
	| awk '/^Fuzz/ { names = names " " $$1 } /^ok/ { if (names != "") print $$2 names; names = "" }' \
	| while read -r pkg names; do \
		for name in $$names; do \
			echo "fuzz: $$pkg $$name"; \
			$(GO) test -run='^$$' -fuzz="^$$name$$" -fuzztime=$(FUZZTIME) "$$pkg" </dev/null; \
		done; \
	done

lint:
	$(GO) vet ./...
	@if command -v golangci-lint >/dev/null; then golangci-lint run ./...; \
	else echo "lint: golangci-lint not installed; ran go vet only"; fi

fmt:
	gofmt -s -w $$(find . -name '*.go' -not -path './bin/*')

tf-fmt:
	@if ! command -v terraform >/dev/null; then echo "tf-fmt: terraform not installed; skipped"; \
	elif [ ! -d terraform ]; then echo "tf-fmt: no terraform/ directory; skipped"; \
	else terraform fmt -recursive terraform; fi

# init -backend=false fetches providers but touches no state.
tf-validate:
	@if ! command -v terraform >/dev/null; then echo "tf-validate: terraform not installed; skipped"; \
	elif [ ! -d terraform ]; then echo "tf-validate: no terraform/ directory; skipped"; \
	else for dir in $$(find terraform -name '*.tf' -printf '%h\n' | sort -u); do \
		echo "tf-validate: $$dir"; \
		terraform -chdir="$$dir" init -backend=false -input=false >/dev/null; \
		terraform -chdir="$$dir" validate; \
	done; fi
