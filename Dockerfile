# syntax=docker/dockerfile:1
# The same image as the native builder (xtask/src/image): one layer holding /bootstrap (0755,
# a static musl binary) and the CA bundle at /etc/ssl/certs/ca-certificates.crt, otherwise
# empty. `cargo xtask build --builder docker` passes the musl target and the build facts, and
# `--platform linux/amd64` or `linux/arm64`. As natively, the build stage runs on the builder's
# own platform and zig links the target's binary: no emulated compiler for arm64.

FROM --platform=$BUILDPLATFORM rust:1.94.1-bookworm AS build
ARG TARGET=x86_64-unknown-linux-musl
ARG APP_GIT_SHA=unknown
ARG APP_GIT_DIRTY=false
ARG APP_BUILT_AT=unknown
ARG APP_BUILD_ID=""
# The function's package and binary (deploy.toml [app] package and binary).
ARG PACKAGE=app
ARG BINARY=bootstrap
# The facts the app bakes in, and the cargo home remapped as the native build does.
ENV APP_GIT_SHA=${APP_GIT_SHA} APP_GIT_DIRTY=${APP_GIT_DIRTY} APP_BUILT_AT=${APP_BUILT_AT} \
    APP_BUILD_ID=${APP_BUILD_ID} \
    CARGO_ENCODED_RUSTFLAGS=--remap-path-prefix=/usr/local/cargo=/cargo
WORKDIR /build
RUN rustup target add "${TARGET}"
# zig and cargo-zigbuild from the pins setup installs natively, by hash (the Debian release is
# pinned by the tag).
COPY xtask/core/tools/zig.txt xtask/core/tools/
# hadolint ignore=DL3008
RUN apt-get update && apt-get install -y --no-install-recommends python3-venv \
    && rm -rf /var/lib/apt/lists/* \
    && python3 -m venv /zig \
    && /zig/bin/pip install --no-cache-dir --disable-pip-version-check \
       --require-hashes --only-binary :all: -r xtask/core/tools/zig.txt
ENV PATH=/zig/bin:$PATH
COPY . .
# One folder holds the whole image, so the final stage copies it as one layer.
RUN cargo zigbuild --locked --release --package "${PACKAGE}" --bin "${BINARY}" --target "${TARGET}" \
    && install -D -m 0755 "target/${TARGET}/release/${BINARY}" /rootfs/bootstrap \
    && install -D -m 0644 /etc/ssl/certs/ca-certificates.crt /rootfs/etc/ssl/certs/ca-certificates.crt

FROM scratch
COPY --from=build /rootfs/ /
ENV PATH=/usr/local/bin:/usr/bin:/bin SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
ENTRYPOINT ["/bootstrap"]
