# nvp: thin wrapper over the CMake build. Every target first installs what is missing.
#   make demo    set up, build, train the default recipe (recipes/demo.lua), write its page
#   make test    set up, build, run every spec (twice: AVX2, then NVP_FORCE_SCALAR=1), then build
#                $(BUILD)-asan with AddressSanitizer + UBSan and run the fast suites under it
#   make build   set up and build only
BUILD ?= build
SAN_BUILD ?= $(BUILD)-asan
JOBS ?= $(shell nproc)

.PHONY: all setup build test demo clean

all: build

setup:
	@bash .ci/setup

build: setup
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release > /dev/null
	@cmake --build $(BUILD) -j $(JOBS)

test: build
	@cd $(BUILD) && ctest --output-on-failure -j 1
	@cmake -S . -B $(SAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNVP_SANITIZE=ON > /dev/null
	@cmake --build $(SAN_BUILD) -j $(JOBS)
	@cd $(SAN_BUILD) && ctest --output-on-failure -j 1

demo: build
	@$(BUILD)/nvp recipes/demo.lua
	@$(BUILD)/nvp page runs/demo

clean:
	rm -rf $(BUILD) $(SAN_BUILD)
