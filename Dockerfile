# syntax=docker/dockerfile:1
# The same image as the native builder (xtask/src/image): one layer holding /bootstrap (0755,
# a static musl binary) and the CA bundle at /etc/ssl/certs/ca-certificates.crt, otherwise
# empty. `cargo xtask build --builder docker` passes the musl target and the build facts.

FROM rust:1.94.1-bookworm AS build
ARG TARGET=x86_64-unknown-linux-musl
ARG APP_GIT_SHA=unknown
ARG APP_GIT_DIRTY=false
ARG APP_BUILT_AT=unknown
ARG APP_BUILD_ID=""
# The facts the app bakes in, and the cargo home remapped as the native build does.
ENV APP_GIT_SHA=${APP_GIT_SHA} APP_GIT_DIRTY=${APP_GIT_DIRTY} APP_BUILT_AT=${APP_BUILT_AT} \
    APP_BUILD_ID=${APP_BUILD_ID} \
    CARGO_ENCODED_RUSTFLAGS=--remap-path-prefix=/usr/local/cargo=/cargo
WORKDIR /build
RUN rustup target add "${TARGET}"
COPY . .
# One folder holds the whole image, so the final stage copies it as one layer.
RUN cargo build --locked --release --package app --bin bootstrap --target "${TARGET}" \
    && install -D -m 0755 "target/${TARGET}/release/bootstrap" /rootfs/bootstrap \
    && install -D -m 0644 /etc/ssl/certs/ca-certificates.crt /rootfs/etc/ssl/certs/ca-certificates.crt

FROM scratch
COPY --from=build /rootfs/ /
ENV PATH=/usr/local/bin:/usr/bin:/bin SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
ENTRYPOINT ["/bootstrap"]
