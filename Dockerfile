# Switchboard container image: docs/deploy.md ("The image").
#   docker build -t switchboard:0.1.0 .
#   docker run --rm -p 5060:5060/udp -p 5060:5060/tcp -p 127.0.0.1:50051:50051 -v sbdata:/data switchboard:0.1.0
#
# Two stages on Debian 12: the build uses the project's Makefile (`make build`) with Debian's
# compilers and -dev packages; the runtime image holds the two binaries and only the shared
# libraries they load.

############################################################################ build
FROM debian:12 AS build

# The build's part of the Makefile's DEB_PACKAGES (the rest are test and benchmark tools:
# sipp, sipsak, baresip, kamailio, tshark, valgrind, googletest, google-benchmark, ...).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      cmake make g++ pkg-config ca-certificates \
      libboost-dev libboost-system-dev libssl-dev libsqlite3-dev libyaml-cpp-dev \
      libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . .

# Configure without the test suites and benchmarks (they need googletest and google-benchmark),
# then the Makefile's build target: `cmake --build build` of what is configured.
ARG JOBS=
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF -DSWITCHBOARD_BENCH=OFF \
 && make build BUILD=build JOBS="${JOBS:-$(nproc)}" \
 && mkdir -p /out \
 && strip --strip-debug -o /out/switchboard build/bin/switchboard \
 && strip --strip-debug -o /out/sbctl build/bin/sbctl \
 && /out/switchboard --version && /out/sbctl --version

########################################################################## runtime
FROM debian:12-slim

# Runtime shared libraries: `ldd build/bin/switchboard build/bin/sbctl` mapped to packages with
# `dpkg -S` on Debian 12 (the ldd check below fails the build if one is missing).
#   libgrpc++1.51     libgrpc++.so.1.51, libgrpc++_reflection.so.1.51
#   libgrpc29         libgrpc.so.29, libgpr.so.29, libupb.so.29, libaddress_sorting.so.29
#   libprotobuf32     libprotobuf.so.32
#   libabsl20220623   libabsl_*.so.20220623
#   libyaml-cpp0.7    libyaml-cpp.so.0.7
#   libsqlite3-0      libsqlite3.so.0
#   libssl3           libssl.so.3, libcrypto.so.3
#   libc-ares2        libcares.so.2
#   libre2-9          libre2.so.9
#   zlib1g            libz.so.1
#   libstdc++6        libstdc++.so.6
#   libgcc-s1         libgcc_s.so.1
#   (libc6: libc.so.6, libm.so.6, in the base image)
# ca-certificates: system roots for `sbctl --tls` without --ca-file.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libgrpc++1.51 libgrpc29 libprotobuf32 libabsl20220623 libyaml-cpp0.7 libsqlite3-0 \
      libssl3 libc-ares2 libre2-9 zlib1g libstdc++6 libgcc-s1 ca-certificates \
 && rm -rf /var/lib/apt/lists/*

COPY --from=build /out/switchboard /out/sbctl /usr/local/bin/
RUN if ldd /usr/local/bin/switchboard /usr/local/bin/sbctl | grep 'not found'; then exit 1; fi

# A non-root user; /data holds the SQLite store and the API token file.
RUN groupadd --system --gid 10001 switchboard \
 && useradd --system --uid 10001 --gid 10001 --home-dir /data --no-create-home \
      --shell /usr/sbin/nologin switchboard \
 && mkdir -p /data /etc/switchboard \
 && chown 10001:10001 /data \
 && printf '%s\n' \
      '# Default configuration of the image (docs/configuration.md): every interface, data in /data.' \
      '# Mount your own at /etc/switchboard/switchboard.yaml (the Helm chart does).' \
      'sip:' \
      '  listen: ["udp:0.0.0.0:5060", "tcp:0.0.0.0:5060"]' \
      'data_dir: /data' \
      'grpc:' \
      '  listen: "0.0.0.0:50051"' \
      'metrics:' \
      '  listen: "0.0.0.0:9090"' \
      > /etc/switchboard/switchboard.yaml

USER 10001:10001
WORKDIR /data
VOLUME ["/data"]

# SIP (UDP and TCP), the gRPC API, Prometheus /metrics with /healthz and /readyz (docs/metrics.md).
EXPOSE 5060/udp 5060/tcp 50051/tcp 9090/tcp

# The gRPC health service (grpc.health.v1; no token needed): exit 0 when SERVING (it turns
# NOT_SERVING while draining). Uses sbctl, so the runtime image needs no HTTP client. Assumes the
# API on 50051 without TLS; Kubernetes ignores HEALTHCHECK and uses /healthz and /readyz.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
  CMD ["/usr/local/bin/sbctl", "--server", "127.0.0.1:50051", "--timeout", "3", "health"]

# SIGTERM stops the server cleanly (exit 0).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/switchboard", "--config", "/etc/switchboard/switchboard.yaml"]
