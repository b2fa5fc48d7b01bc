# scanfree — see README.md. `make demo` runs the system locally; `make test` tests it.
GO       ?= go
BIN      := bin
STATE    ?= .state/demo
FUZZTIME ?= 5s
BENCHTIME ?= 2s
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

# Binaries that build for every OS; the tray joins once it exists (not on darwin: cgo).
PORTABLE := scanfree-server scanfreed scanfree-demo
# The tray needs cgo on darwin (Cocoa): built for linux and windows only.
TRAY_OS  := linux windows

.PHONY: all build test unit fuzz demo bench cross lint clean

all: build

build:
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ ./cmd/...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt wants to change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

unit:
	$(GO) test -race -count=1 ./...

# Each fuzz target briefly; the seeds also run as plain tests in `unit`.
fuzz:
	$(GO) test -run='^$$' -fuzz='^FuzzSNSParams$$' -fuzztime=$(FUZZTIME) ./backend/server
	$(GO) test -run='^$$' -fuzz='^FuzzDecode$$' -fuzztime=$(FUZZTIME) ./daemon/localapi
	$(GO) test -run='^$$' -fuzz='^FuzzGuard$$' -fuzztime=$(FUZZTIME) ./daemon/localapi

test: lint unit fuzz

demo: build
	$(BIN)/scanfree-demo up --state $(STATE)

bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./...
	$(GO) run ./cmd/scanfree-bench -d $(BENCHTIME) backend certs daemon qr

cross:
	@for os in linux windows darwin; do for arch in amd64 arm64; do \
		for cmd in $(PORTABLE); do \
			echo "GOOS=$$os GOARCH=$$arch $$cmd"; \
			CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -o $(BIN)/cross/$$os-$$arch/ ./cmd/$$cmd || exit 1; \
		done; done; done
	@for os in $(TRAY_OS); do for arch in amd64 arm64; do \
		echo "GOOS=$$os GOARCH=$$arch scanfree-tray"; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -o $(BIN)/cross/$$os-$$arch/ ./cmd/scanfree-tray || exit 1; \
	done; done

clean:
	rm -rf $(BIN)
