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

.PHONY: all build deps configure run test test-unit test-integration clean

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

clean:
	rm -rf $(BUILD_DIR)
