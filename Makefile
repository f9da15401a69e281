# Parley. Every Go command uses the sqlite_fts5 build tag.
GO      ?= go
TAGS    := sqlite_fts5
ADDR    ?= 127.0.0.1:8080
DATA    ?= ./data

# The demo login that `make run` creates in an empty ./data (loopback only).
RUN_ADMIN_EMAIL    ?= admin@demo.parley.test
RUN_ADMIN_PASSWORD ?= parley-demo

.PHONY: build run test test-postgres check bench bench-go vet clean

build:
	$(GO) build -tags $(TAGS) -o bin/parley ./cmd/parley

run: build
	PARLEY_ADMIN_EMAIL=$${PARLEY_ADMIN_EMAIL:-$(RUN_ADMIN_EMAIL)} \
	PARLEY_ADMIN_PASSWORD=$${PARLEY_ADMIN_PASSWORD:-$(RUN_ADMIN_PASSWORD)} \
	./bin/parley serve --addr $(ADDR) --data $(DATA) --demo

test:
	$(GO) test -race -tags $(TAGS) -count=1 ./...

# Every test again with the store of each end-to-end test (HTTP API, hub, channels,
# orders, reports, the console and the widget in Chromium) on PostgreSQL: each test gets
# a schema of its own on PARLEY_TEST_POSTGRES, dropped at its end. The default is the
# local server with trust auth and a database named test.
PARLEY_TEST_POSTGRES ?= postgres://postgres@127.0.0.1:5432/test
test-postgres:
	PARLEY_TEST_STORE=postgres PARLEY_TEST_POSTGRES=$(PARLEY_TEST_POSTGRES) \
		$(GO) test -race -tags $(TAGS) -count=1 ./...

# The load generator against a real `parley serve` (docs/performance.md); BENCH_SCALE=small,
# default or full. It prints the table and writes bench/results.json.
bench: build
	$(GO) build -tags $(TAGS) -o bin/parley-bench ./cmd/parley-bench
	./bin/parley-bench --parley bin/parley --out bench/results.json

# The Go micro-benchmarks of every package.
bench-go:
	$(GO) test -tags $(TAGS) -run '^$$' -bench . -benchmem ./...

vet:
	$(GO) vet -tags $(TAGS) ./...

# The house habits, run by .ci/run before the tests: formatting, vet, a tidy go.mod and
# staticcheck (fetched by the go command at the pinned version; nothing is installed).
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
check:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet -tags $(TAGS) ./...
	$(GO) mod tidy -diff
	$(GO) run $(STATICCHECK) -tags $(TAGS) ./...

clean:
	rm -rf bin
