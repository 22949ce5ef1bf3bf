# dbplane's make targets. `make help` lists them.
GO      ?= go
BIN     ?= bin/dbplane
PKGS    ?= ./...

.PHONY: help build test bench demo dev fuzz clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

build: ## build bin/dbplane
	$(GO) build -o $(BIN) ./cmd/dbplane

# Packages' tests run one at a time (-p 1): the engine and end-to-end tests
# start real databases on the same loopback "hosts" (127.0.0.11-16) and ports.
test: ## vet, run every test under the race detector (the PostgreSQL half when DBPLANE_TEST_POSTGRES_URL is set), then each fuzz target briefly
	$(GO) vet $(PKGS)
	$(GO) test -count=1 -race -p 1 -timeout 30m $(PKGS)
	$(MAKE) --no-print-directory fuzz FUZZTIME=$(FUZZTIME)

# FUZZTIME is how long each fuzz target runs; its seed corpus (testdata/fuzz)
# always runs as part of the plain tests too.
FUZZTIME ?= 5s

fuzz: ## run each fuzz target for FUZZTIME (default 5s)
	GO=$(GO) FUZZTIME=$(FUZZTIME) ./scripts/fuzz.sh

bench: ## run the benchmarks (results go into docs/benchmarks.md)
	$(GO) test -run '^$$' -bench NoopSubtasks -benchtime 5000x -count 1 ./taskengine/
	$(GO) test -run '^$$' -bench ListClustersHTTP -benchtime 2000x -count 1 ./cmd/dbplane/
	$(GO) test -run '^$$' -bench CreateCluster -benchtime 3x -count 1 ./cmd/dbplane/
	$(GO) test -run '^$$' -bench FindClusters -count 1 ./sqlstore/

demo: build ## build, start dbplane dev and walk through a cluster's life
	./scripts/demo.sh

dev: build ## run dbplane dev in the foreground
	$(BIN) dev

clean: ## remove build output
	rm -rf bin
