# fog: a thin front for CMake/CTest. `make` builds into build/ (the CLI is build/fog).
# Every target installs what it needs first (scripts/deps.sh), so a fresh Debian machine works.
JOBS ?= 2
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo

.PHONY: all build asan run test bench fuzz clean deps test-deps

all: build

deps:
	@scripts/deps.sh

test-deps:
	@scripts/deps.sh --test

build: deps
	@cmake -S . -B build $(CMAKE_FLAGS) >/dev/null
	@cmake --build build -j$(JOBS) -- --no-print-directory

asan: deps
	@cmake -S . -B build-asan -DFOG_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build build-asan -j$(JOBS) -- --no-print-directory

run: build
	@scripts/run.sh

# The whole suite: unit, CLI, interop and crash tests on the plain build, then unit and CLI
# tests again under AddressSanitizer + UndefinedBehaviorSanitizer.
test: test-deps build asan
	cd build && ctest --output-on-failure -j$(JOBS)
	cd build-asan && ctest --output-on-failure -j$(JOBS) -L 'unit|cli'

bench: test-deps build
	@bench/add/run.sh
	@bench/transport/run.sh
	@bench/fetch/run.sh
	@bench/swarm/run.sh
	@bench/dedup/run.sh

fuzz: deps
	@scripts/fuzz.sh

clean:
	rm -rf build build-asan build-fuzz
