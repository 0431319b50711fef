# syntax=docker/dockerfile:1
#
# The Portcullis container image: `portcullis` (the server and its offline commands) and `demo-api`
# (the example resource server), built from this checkout with the toolchain of Cargo.toml's
# rust-version. No secret, database URL or master key is baked in: configure a container with
# PORTCULLIS_… environment variables (see README.md) and give it the master key as a file or a
# variable at run time. docker-compose.yml shows the whole set-up.
#
#   docker build -t portcullis:local .      (BuildKit, the default builder of current Docker)

# ---- builder -------------------------------------------------------------------------------------
FROM rust:1.95-bookworm AS builder
WORKDIR /src
COPY . .
# The cargo registry, git checkouts and target/ live in BuildKit cache mounts, so a rebuild after a
# source change recompiles only what changed. A cache mount is not part of the image, hence the copy
# of the two binaries to /out in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked -p portcullis -p demo-api \
    && mkdir -p /out \
    && cp target/release/portcullis target/release/demo-api /out/

# ---- runtime -------------------------------------------------------------------------------------
FROM debian:bookworm-slim

# ca-certificates for outgoing TLS; curl only for health checks (`curl -fsS …/readyz`), because
# portcullis has no health subcommand. The image declares no HEALTHCHECK: it also runs `migrate`,
# one-shot commands and demo-api, so the check belongs to the service that serves port 8080 (see
# docker-compose.yml).
# Debian package versions are deliberately not pinned (DL3008): bookworm replaces a package version
# on each point and security release and the archive drops the old one, so a pin would break the
# build at the next update instead of picking up the fix.
# The fixed uid/gid 10001 is what secret files and volumes are made readable for. /demo-credentials
# is the mount point of the compose demo's shared credentials volume: a fresh named volume takes
# this directory's owner and mode, so the non-root setup job can write there.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 portcullis \
    && useradd --system --no-log-init --uid 10001 --gid portcullis \
        --home-dir /var/lib/portcullis --shell /usr/sbin/nologin portcullis \
    && install -d -o portcullis -g portcullis -m 0700 /var/lib/portcullis /demo-credentials

COPY --from=builder /out/portcullis /out/demo-api /usr/local/bin/

# Inside a container the loopback defaults would be unreachable; publishing a port stays explicit.
ENV PORTCULLIS_HTTP__LISTEN=0.0.0.0:8080 \
    PORTCULLIS_ADMIN__LISTEN=0.0.0.0:8081 \
    DEMO_API_LISTEN=0.0.0.0:8090

USER 10001:10001
# Writable working directory: the default SQLite database and, when no master key is configured,
# the generated portcullis.master.key would land here (mount a volume to keep them).
WORKDIR /var/lib/portcullis

# 8080 public OAuth endpoints, 8081 admin (GraphQL, health), 8090 demo-api.
EXPOSE 8080 8081 8090

ENTRYPOINT ["portcullis"]
CMD ["serve"]
