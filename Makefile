# Entry points for people and CI. The real work is in CMake and scripts/.
SHARED ?= ../shared
MODEL ?= $(SHARED)/models/stories260K.gguf

.PHONY: all deps test-deps build demo test package install clean

all: build

# Building and running need only the first; the test suite also needs its tools
# (curl, tmux, Chromium, clang, Node.js, nginx: scripts/install-deps.sh --test) only with `make test`.
deps:
	scripts/install-deps.sh

test-deps:
	scripts/install-deps.sh --test

build: deps
	cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build build -j$$(nproc)

# The main job: generate a story with the small real model from ../shared, added to a throwaway
# model library and run by name (works offline; `hearth run -p ...` without -m would instead pull
# the default model from Hugging Face on first use, see docs/library.md).
demo: build
	@home=$$(mktemp -d) && \
	  build/bin/hearth import $(MODEL) stories --home $$home >/dev/null && \
	  build/bin/hearth run -m stories --home $$home -p "Once upon a time" -n 128 --temp 0; \
	  rc=$$?; rm -rf $$home; exit $$rc

test: test-deps
	scripts/test.sh

# build/hearth_<version>_amd64.deb (CPack; see cmake/install.cmake and docs/deploy.md).
package: build
	cd build && cpack -G DEB

# PREFIX=/usr/local by default; DESTDIR works as usual.
PREFIX ?= /usr/local
install: build
	cmake --install build --prefix $(PREFIX)

clean:
	rm -rf build build-asan build-fuzz
