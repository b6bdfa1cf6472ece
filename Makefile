# Kepu — the two commands are `make run` and `make test`.
SHELL := /bin/bash
GO ?= go
export KEPU_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/kepu?sslmode=disable
export KEPU_REDIS_URL ?= redis://127.0.0.1:6379/0
STATICCHECK := $(shell $(GO) env GOPATH)/bin/staticcheck

.PHONY: run test services browser nginx build migrate seed lint bench bench-bigroom unit clean staticcheck screens

## run: start services, migrate, load demo data and serve on http://127.0.0.1:8080
run: services build
	@bin/kepu migrate
	@bin/kepu seed
	@echo
	@echo "Kepu is starting: open $${KEPU_BASE_URL:-http://$${KEPU_ADDR:-127.0.0.1:8080}}/ (Ctrl-C to stop)"
	@exec bin/kepu serve

# Packages whose tests exercise goroutines sharing state: their tests run
# under -race (only: once is enough), the rest without.
RACE_PKGS := ./internal/realtime/ ./internal/account/ ./internal/campaign/ ./internal/postgres/ ./internal/contest/ ./internal/leaderboard/ ./internal/ratelimit/

## test: start services, install the browser and nginx, then vet, staticcheck, go mod tidy -diff,
## every test once (unit, integration, cluster behind nginx, browser; then the concurrent packages under -race)
test: services browser nginx staticcheck
	@test -z "$$(gofmt -l cmd internal web migrations loadtest)" || { echo "gofmt needed:"; gofmt -l cmd internal web migrations loadtest; exit 1; }
	$(GO) vet ./...
	$(GO) mod tidy -diff
	@STATICCHECK=$(STATICCHECK) scripts/test.sh $(RACE_PKGS)

# staticcheck, pinned, installed into GOPATH/bin when missing.
STATICCHECK_VERSION := v0.8.2
staticcheck:
	@test -x $(STATICCHECK) || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

services:
	@scripts/services.sh

browser:
	@scripts/browser.sh

nginx:
	@scripts/nginx.sh

build:
	@mkdir -p bin
	$(GO) build -o bin/kepu ./cmd/kepu

migrate: services build
	bin/kepu migrate

seed: services build
	bin/kepu seed

## lint: gofmt, go vet, staticcheck
lint: staticcheck
	@test -z "$$(gofmt -l cmd internal web migrations loadtest)" || { gofmt -l cmd internal web migrations loadtest; exit 1; }
	$(GO) vet ./...
	$(STATICCHECK) ./...

## bench-bigroom: one contest room of 30,000 players over three instances (scripts/bigroom.sh; docs/benchmarks.md)
bench-bigroom: services
	scripts/bigroom.sh

## bench: micro-benchmarks, then a short smoke run of each load scenario against a
## server started here on its own database, the campaign and leaderboard runs each
## after their reference on the same machine (ratio in the summary; full runs: docs/benchmarks.md)
BENCH_DB ?= postgres://postgres@127.0.0.1:5432/kepu_bench?sslmode=disable
BENCH_ADDR ?= 127.0.0.1:18090
bench: services build
	-$(GO) test -run '^$$' -bench . -benchmem -benchtime 200ms ./...
	@psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'kepu_bench'" | grep -q 1 || psql -h 127.0.0.1 -U postgres -qc 'CREATE DATABASE kepu_bench'
	@export KEPU_DATABASE_URL='$(BENCH_DB)' KEPU_REDIS_PREFIX=kepubench KEPU_ADDR=$(BENCH_ADDR) KEPU_LOG_LEVEL=warn; \
	bin/kepu migrate >/dev/null 2>&1 && bin/kepu seed --quiet >/dev/null 2>&1 && \
	bin/kepu user create --username bench-host --role teacher --password bench-host-pass-123 >/dev/null 2>&1 && \
	bin/kepu user create --username bench-org --role organizer --password bench-org-pass-123 >/dev/null 2>&1 || exit 1; \
	ulimit -n 20000 2>/dev/null; bin/kepu serve 2>/tmp/kepu-bench.log & pid=$$!; trap "kill $$pid" EXIT; \
	for i in $$(seq 50); do curl -sf http://$(BENCH_ADDR)/readyz >/dev/null && break; sleep 0.2; done; \
	$(GO) run ./loadtest contest --url http://$(BENCH_ADDR) --admin bench-host --admin-password bench-host-pass-123 \
		--players 100 --join-over 2s --questions 2 --time-limit 10 --answer-within 2s --idle 1s --server-pid $$pid --duration 60s && \
	$(GO) run ./loadtest campaign --url http://$(BENCH_ADDR) --database-url '$(BENCH_DB)' --admin bench-org --admin-password bench-org-pass-123 \
		--users 50 --ramp 2s --think 0 --duration 15s --reference 5s && \
	$(GO) run ./loadtest leaderboard --url http://$(BENCH_ADDR) --database-url '$(BENCH_DB)' --admin bench-org --admin-password bench-org-pass-123 \
		--watchers 100 --citizens 5 --stream-for 8s --readers 20 --read-rate 500 --reference 4s --duration 30s

## screens: redraw docs/screens, the README's gallery: each journey on a fresh seeded instance,
## phone 390×844 and projector 1920×1080, zh-CN and en (internal/e2e/screens_test.go)
screens: services browser
	KEPU_SCREENS=$(CURDIR)/docs/screens $(GO) test ./internal/e2e -run '^TestScreens$$' -count=1 -timeout 20m

clean:
	rm -rf bin
