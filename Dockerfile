# Frontwire container image.
#
# Both base images are build arguments so that they can be pinned by digest
# or pulled from a mirror, e.g.
#   docker build --build-arg GO_IMAGE=mirror.example/golang:1.26-bookworm .
# scripts/docker-smoke builds this same file against local stand-ins.
ARG GO_IMAGE=golang:1.26-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/static-debian12:nonroot

# ---- build: a static binary ------------------------------------------------
FROM ${GO_IMAGE} AS build
WORKDIR /src

# Module settings for builds without network access: pass GOPROXY=off (or a
# file:// proxy) and either a vendor/ directory in the context or a module
# cache in the builder image. Empty values keep the Go defaults.
ARG GOPROXY
ARG GOFLAGS
ARG VERSION=dev
ENV CGO_ENABLED=0 GOTOOLCHAIN=local

# Dependencies first, in their own layer, so that editing Frontwire's code
# does not download every module again. Skipped when the proxy is off: the
# modules then come from vendor/ or the builder's module cache.
COPY go.mod go.sum ./
RUN if [ "${GOPROXY:-}" = "off" ]; then echo "GOPROXY=off: not downloading modules"; else go mod download; fi

COPY . .
# A vendor/ directory, when the context has one, is used as it is, so a
# vendored build never touches the network. Otherwise go.mod and go.sum must
# already be complete (-mod=readonly), as in CI.
# The timetzdata tag embeds the zone database, so the binary shows local
# times correctly even on a base image without /usr/share/zoneinfo.
RUN set -eu; \
    mod=readonly; \
    if [ -f vendor/modules.txt ]; then mod=vendor; fi; \
    echo "building Frontwire ${VERSION} with -mod=${mod}"; \
    go build -mod="${mod}" -trimpath -tags timetzdata \
        -ldflags "-s -w -X main.version=${VERSION}" \
        -o /out/usr/local/bin/bot ./cmd/bot; \
    mkdir -p /out/data /out/config

# ---- runtime: the binary alone, as a non-root user -------------------------
FROM ${RUNTIME_IMAGE}
ARG VERSION=dev
LABEL org.opencontainers.image.title="Frontwire" \
      org.opencontainers.image.description="Keyword news alerts for Telegram and Discord" \
      org.opencontainers.image.version="${VERSION}"

COPY --from=build /out/usr/local/bin/bot /usr/local/bin/bot
# The data directory belongs to the runtime user, so that a named volume
# mounted there starts out writable by it.
COPY --from=build --chown=65532:65532 /out/data /data
COPY --from=build /out/config /config

# 65532 is distroless' "nonroot"; numeric so it works on any base, even one
# without /etc/passwd.
USER 65532:65532
# The bot reads config.toml from its working directory when it exists (mount
# one at /config/config.toml) and otherwise builds its whole configuration
# from FRONTWIRE_* variables. Setting FRONTWIRE_CONFIG instead would make a
# missing file an error and rule out environment-only containers.
WORKDIR /config
ENV FRONTWIRE_DATA_DIR=/data \
    FRONTWIRE_HTTP_LISTEN=:8080
VOLUME /data
EXPOSE 8080

# Minimal bases have no curl: the binary probes its own /healthz.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["/usr/local/bin/bot", "healthcheck"]

ENTRYPOINT ["/usr/local/bin/bot"]
CMD ["run"]
