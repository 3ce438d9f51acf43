# Front door. `make test` on a fresh Debian 12 machine (as root) installs, builds and tests.
.PHONY: all deps reference-deps build test test-debug serve goldens format clean

all: build

deps:
	scripts/deps.sh

reference-deps:
	scripts/deps.sh --reference

build: deps
	cmake --preset release
	cmake --build --preset release
	@echo "built build/loom"

test: build
	ctest --preset release

# Serves the built-in model (models/builtin) on port 8000; `make serve MODEL=dir PORT=n` for others.
MODEL ?=
PORT ?= 8000
serve: build
	build/loom serve $(MODEL) --port $(PORT)

test-debug: deps
	cmake --preset debug
	cmake --build --preset debug
	ctest --preset debug

# Regenerates tests/data/models and tests/data/quant_models from the independent PyTorch reference.
goldens: reference-deps
	/usr/bin/python3 tools/reference/make_checkpoints.py
	/usr/bin/python3 tools/reference/make_quant_checkpoints.py

format:
	git ls-files '*.cc' '*.h' | xargs clang-format -i

clean:
	rm -rf build build-debug
