# Entry points for people and CI. The real work is in CMake and scripts/.
SHARED ?= ../shared
MODEL ?= $(SHARED)/models/stories260K.gguf

.PHONY: all deps build demo test clean

all: build

deps:
	scripts/install-deps.sh

build: deps
	cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build build -j$$(nproc)

# The main job: generate a story with the small real model from ../shared.
demo: build
	build/bin/hearth run -m $(MODEL) -p "Once upon a time" -n 128 --temp 0

test: deps
	scripts/test.sh

clean:
	rm -rf build build-asan build-fuzz
