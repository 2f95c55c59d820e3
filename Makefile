# Keygate: the two commands are `make run` and `make test`.
#
#   make run    install missing packages, build, start the server on
#               127.0.0.1:50051 with its store and operator key under ./data
#   make test   install missing packages, build, run every test
#   make build  build only (Release; binaries in build/bin/)

BUILD_DIR  ?= build
BUILD_TYPE ?= Release
JOBS       ?= 2
LISTEN     ?= 127.0.0.1:50051
DATA_DIR   ?= ./data

.PHONY: all build deps configure run test test-unit test-integration clean \
        bench bench-quick fuzz stress soak test-asan test-tsan

all: build

deps:
	@deploy/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) >/dev/null

build: configure
	cmake --build $(BUILD_DIR) -j$(JOBS)

run: build
	$(BUILD_DIR)/bin/keygate-server --listen=$(LISTEN) --data_dir=$(DATA_DIR) \
	  --bootstrap_key_file=$(DATA_DIR)/operator.key

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j$(JOBS)

test-unit: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j$(JOBS) -L unit

test-integration: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j$(JOBS) -L integration

# Long-running suites (never part of `make test`).
bench: build
	bench/run.sh full $(BUILD_DIR)

bench-quick: build
	bench/run.sh quick $(BUILD_DIR)

fuzz: deps
	tests/fuzz/run.sh

stress: build
	tests/reliability/stress.sh $(BUILD_DIR)

soak: build
	tests/reliability/soak.sh $(BUILD_DIR)

# The unit and integration tests under sanitizers, in their own build dirs.
test-asan: deps
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKEYGATE_SANITIZE=address -DKEYGATE_BUILD_BENCH=OFF >/dev/null
	cmake --build build-asan -j$(JOBS)
	cd build-asan && ctest --output-on-failure -j$(JOBS)

test-tsan: deps
	cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKEYGATE_SANITIZE=thread -DKEYGATE_BUILD_BENCH=OFF >/dev/null
	cmake --build build-tsan -j$(JOBS)
	cd build-tsan && TSAN_OPTIONS="suppressions=$(CURDIR)/tests/tsan.supp $(TSAN_OPTIONS)" ctest --output-on-failure -j$(JOBS)

clean:
	rm -rf $(BUILD_DIR) build-asan build-tsan
