# Kepu — the two commands are `make run` and `make test`.
SHELL := /bin/bash
GO ?= go
export KEPU_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/kepu?sslmode=disable
export KEPU_REDIS_URL ?= redis://127.0.0.1:6379/0
STATICCHECK := $(shell $(GO) env GOPATH)/bin/staticcheck

.PHONY: run test services browser build migrate seed lint bench unit clean

## run: start services, migrate, load demo data and serve on http://127.0.0.1:8080
run: services build
	@bin/kepu migrate
	@bin/kepu seed
	@echo
	@echo "Kepu is starting: open $${KEPU_BASE_URL:-http://$${KEPU_ADDR:-127.0.0.1:8080}}/ (Ctrl-C to stop)"
	@exec bin/kepu serve

## test: start services, install the browser, run every test (unit, integration, browser)
test: services browser
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...

services:
	@scripts/services.sh

browser:
	@scripts/browser.sh

build:
	@mkdir -p bin
	$(GO) build -o bin/kepu ./cmd/kepu

migrate: services build
	bin/kepu migrate

seed: services build
	bin/kepu seed

## lint: gofmt, go vet, staticcheck
lint:
	@test -z "$$(gofmt -l cmd internal web migrations loadtest)" || { gofmt -l cmd internal web migrations loadtest; exit 1; }
	$(GO) vet ./...
	@test -x $(STATICCHECK) || $(GO) install honnef.co/go/tools/cmd/staticcheck@latest
	$(STATICCHECK) ./...

## bench: micro-benchmarks (the full load runs are documented in docs/benchmarks.md)
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

clean:
	rm -rf bin
