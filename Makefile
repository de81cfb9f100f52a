# shopsync — see README.md. Every target works on a fresh machine with Go and gcc.
GO      ?= go
BIN     := bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
CONFIG  ?= config.yaml

# The Go toolchain every target builds with. go1.26.8, the Go a fresh
# machine has, ships standard-library vulnerabilities fixed in go1.27.3
# (make vulncheck); the go command fetches this toolchain from the module
# proxy on first use (GOTOOLCHAIN=local, Go's default here, would refuse
# go.mod's go line instead of fetching it).
export GOTOOLCHAIN := go1.27.3

.PHONY: all build test lint vulncheck demo run bench soak clean

all: lint test build

build: ## the shopsync binary and the Shopify simulator, in bin/
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/shopsync ./cmd/shopsync
	$(GO) build -o $(BIN)/shopifysim ./cmd/shopifysim

test: ## vet, then every test under the race detector
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...

lint: ## gofmt and staticcheck
	@test -z "$$(gofmt -l .)" || { echo "gofmt would change:"; gofmt -l .; exit 1; }
	$(GO) tool staticcheck ./...

vulncheck: ## govulncheck (pinned in go.mod) against the Go vulnerability database, built from the module proxy's golang.org/x/vulndb
	./scripts/vulncheck.sh

demo: ## the daemon and its web page against a simulated shop that sends webhooks (no Shopify account); Ctrl-C stops
	GO='$(GO)' LDFLAGS='$(LDFLAGS)' ./scripts/demo.sh

run: build ## one real import with your configuration ($(CONFIG), or SHOPSYNC_* variables)
	@if [ -f "$(CONFIG)" ]; then ./$(BIN)/shopsync --config $(CONFIG) sync; else ./$(BIN)/shopsync sync; fi

bench: ## the benchmark suite, medians of BENCH_COUNT (3) runs; see BENCHMARKS.md (about an hour; BENCH=regexp picks some)
	./scripts/bench.sh

soak: build ## the daemon for SOAK (default 30m) against a faulty simulated shop under load, then CONVERGE (5000) random histories; the store must end exact
	SHOPSYNC_SOAK=$${SOAK:-30m} $(GO) test -run 'TestSoak|TestSyncKilledAtRandom' -count=1 -timeout 0 -v ./cmd/shopsync/
	SHOPSYNC_CONVERGE=$${CONVERGE:-5000} SHOPSYNC_CONVERGE_BASE=$${CONVERGE_BASE:-$$(date +%s)} \
		$(GO) test -run 'TestConvergence' -count=1 -timeout 0 ./sync/

clean:
	rm -rf $(BIN)
