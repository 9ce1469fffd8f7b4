# The operator image. Build: docker build -t serviceuser-operator:0.1.0 .
#
# The build stage runs tools/build.sh, the same script the tests and the local run use, without
# the tests. Nothing is downloaded at build time except Debian packages.

FROM debian:bookworm AS build
# The build packages of tools/install-deps.sh, minus those only the tests and the local run need
# (GoogleTest, Go, Lua, clang-format).
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      build-essential cmake ninja-build pkg-config ca-certificates \
      libcpprest-dev libboost-system-dev libyaml-cpp-dev nlohmann-json3-dev libssl-dev \
      libspdlog-dev libfmt-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY src ./src
COPY tools ./tools
RUN SU_INSTALL_DEPS=0 SU_BUILD_TESTS=OFF SU_BUILD_TYPE=Release SU_BUILD_DIR=/build \
      tools/build.sh serviceuser-operator \
 && strip --strip-unneeded -o /serviceuser-operator /build/src/serviceuser-operator

FROM debian:bookworm-slim
# Exactly the packages whose shared libraries the operator links (checked against the binary by
# tests/shipping/dockerfile_test.cc), plus the CA roots for TLS to DigiCert ONE. Their own
# dependencies (libfmt9, libbrotli1, zlib1g) come with them.
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      libcpprest2.10 libyaml-cpp0.7 libspdlog1.10 libssl3 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /serviceuser-operator /usr/local/bin/serviceuser-operator
# The distroless "nonroot" user; the Deployments set the same IDs and a read-only root.
USER 65532:65532
EXPOSE 8080 8081
ENTRYPOINT ["/usr/local/bin/serviceuser-operator"]
