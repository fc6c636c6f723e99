# syntax=docker/dockerfile:1
# The same image as the native builder (xtask/src/image): /bootstrap (0755, a static musl
# binary) and the CA bundle at /etc/ssl/certs/ca-certificates.crt, otherwise empty. Used by
# `cargo xtask build --builder docker`, which passes the build facts and the musl target.
FROM rust:1.94.1-bookworm AS build
ARG TARGET=x86_64-unknown-linux-musl
ARG APP_GIT_SHA=unknown
ARG APP_GIT_DIRTY=false
ARG APP_BUILT_AT=unknown
ARG APP_BUILD_ID=""
ENV APP_GIT_SHA=${APP_GIT_SHA} APP_GIT_DIRTY=${APP_GIT_DIRTY} APP_BUILT_AT=${APP_BUILT_AT} \
    APP_BUILD_ID=${APP_BUILD_ID} \
    CARGO_ENCODED_RUSTFLAGS=--remap-path-prefix=/build=/build
WORKDIR /build
RUN rustup target add "${TARGET}"
COPY . .
RUN cargo build --locked --release --package app --bin bootstrap --target "${TARGET}" \
    && install -D -m 0755 "target/${TARGET}/release/bootstrap" /out/bootstrap

FROM scratch
COPY --from=build --chmod=0755 /out/bootstrap /bootstrap
COPY --from=build --chmod=0644 /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
ENV PATH=/usr/local/bin:/usr/bin:/bin SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
ENTRYPOINT ["/bootstrap"]
