# scanfree — see README.md. `make demo` runs the system locally; `make test` tests it.
GO       ?= go
BIN      := bin
STATE    ?= .state/demo
# A count, not a duration: go1.26's fuzz coordinator can report a bare
# "context deadline exceeded" at the end of a timed run with no crasher
# (golang/go#75804, fixed in go1.27); a count never races that deadline.
FUZZTIME ?= 30000x
BENCHTIME ?= 2s
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
# Every binary built here says which it is (--version): the release name,
# and the commit where Go can read it (-buildvcs=auto: also without git).
GOBUILD  := $(GO) build -buildvcs=auto -ldflags "-X github.com/scanfree/scanfree/internal/version.stamp=$(VERSION)"

# Binaries that build for every OS; the tray joins once it exists (not on darwin: cgo).
PORTABLE := scanfree-server scanfreed scanfree-demo scanfree-demo-app
# The tray needs cgo on darwin (Cocoa): built for linux and windows only.
TRAY_OS  := linux windows

PREFIX   ?= $(HOME)/.local
DIST     := dist

.PHONY: all build test unit fuzz demo bench cross lint clean install uninstall dist

all: build

build:
	@mkdir -p $(BIN)
	$(GOBUILD) -o $(BIN)/ ./cmd/...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt wants to change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum are not tidy: run go mod tidy"; exit 1; }

# Every process the tests start inherits SCANFREE_TEST_RUN; any still alive
# afterwards fails the run (scripts/leftovers.sh). The browser tests of ./web
# take about 8 of go test's default 10 minutes per package on a CI machine;
# 20 leaves room for a busy one without letting a hang go unnoticed.
unit:
	@SCANFREE_TEST_RUN=$$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n'); export SCANFREE_TEST_RUN; \
	echo "$(GO) test -race -count=1 -timeout 20m ./..."; $(GO) test -race -count=1 -timeout 20m ./...; rc=$$?; \
	env -u SCANFREE_TEST_RUN sh scripts/leftovers.sh "$$SCANFREE_TEST_RUN" || rc=1; exit $$rc

# Each fuzz target briefly; the seeds also run as plain tests in `unit`.
fuzz:
	$(GO) test -run='^$$' -fuzz='^FuzzSNSParams$$' -fuzztime=$(FUZZTIME) ./backend/server
	$(GO) test -run='^$$' -fuzz='^FuzzDecode$$' -fuzztime=$(FUZZTIME) ./daemon/localapi
	$(GO) test -run='^$$' -fuzz='^FuzzGuard$$' -fuzztime=$(FUZZTIME) ./daemon/localapi

test: lint unit fuzz

demo:
	@echo "Building scanfree into $(BIN)/ (the first build downloads the Go modules, a few hundred MB; later ones take seconds)..."
	@$(MAKE) --no-print-directory build
	$(BIN)/scanfree-demo up --state $(STATE) $(DEMO_ARGS)

bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./...
	$(GO) run ./cmd/scanfree-bench -d $(BENCHTIME) backend oidc dpop certs daemon qr replicas log

cross:
	@for os in linux windows darwin; do for arch in amd64 arm64; do \
		for cmd in $(PORTABLE); do \
			echo "GOOS=$$os GOARCH=$$arch $$cmd"; \
			CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GOBUILD) -o $(BIN)/cross/$$os-$$arch/ ./cmd/$$cmd || exit 1; \
		done; done; done
	@for os in $(TRAY_OS); do for arch in amd64 arm64; do \
		echo "GOOS=$$os GOARCH=$$arch scanfree-tray"; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GOBUILD) -o $(BIN)/cross/$$os-$$arch/ ./cmd/scanfree-tray || exit 1; \
	done; done

# A developer machine: binaries in $(PREFIX)/bin, the per-user service, the tray's autostart, the CA.
install: build
	install -d $(PREFIX)/bin
	install -m 755 $(BIN)/scanfreed $(BIN)/scanfree-tray $(PREFIX)/bin/
	$(PREFIX)/bin/scanfreed service install --certs

uninstall:
	-$(PREFIX)/bin/scanfreed service uninstall
	rm -f $(PREFIX)/bin/scanfreed $(PREFIX)/bin/scanfree-tray

# Release archives: linux and windows (amd64, arm64) with the tray, darwin without it;
# Debian packages for linux (installer/deb.go) and an MSI for windows/amd64
# (installer/msi.go, needs wixl): what an IT team pushes.
dist:
	@rm -rf $(DIST) && mkdir -p $(DIST)
	@for os in linux windows darwin; do for arch in amd64 arm64; do \
		name=scanfree-$(VERSION)-$$os-$$arch; dir=$(DIST)/$$name; mkdir -p $$dir; \
		cmds="scanfreed scanfree-server"; [ $$os = darwin ] || cmds="$$cmds scanfree-tray"; \
		for cmd in $$cmds; do CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -buildvcs=auto -trimpath \
			-ldflags "-s -X github.com/scanfree/scanfree/internal/version.stamp=$(VERSION)" -o $$dir/ ./cmd/$$cmd || exit 1; done; \
		if [ $$os = linux ]; then $(GO) run ./installer/mkpkg deb -bin $$dir -version $(VERSION) -arch $$arch \
			-o $(DIST)/scanfree_$(VERSION)_$$arch.deb || exit 1; fi; \
		if [ $$os-$$arch = windows-amd64 ]; then $(GO) run ./installer/mkpkg msi -bin $$dir -version $(VERSION) \
			-o $(DIST)/scanfree-$(VERSION)-windows-amd64.msi || exit 1; fi; \
		cp installer/dist/INSTALL-$$os.txt $$dir/INSTALL.txt; cp README.md $$dir/; \
		tar -C $(DIST) -czf $(DIST)/$$name.tar.gz $$name && rm -rf $$dir && echo $(DIST)/$$name.tar.gz; \
	done; done

clean:
	rm -rf $(BIN) $(DIST)
