# Build stage: dependencies first (cached while only sources change), then the binary.
# The minimum the locked dependencies need (Cargo.toml rust-version), pinned for repeatable builds.
FROM rust:1.89-slim-bookworm AS build
WORKDIR /app
COPY Cargo.toml Cargo.lock ./
COPY fakes/Cargo.toml fakes/Cargo.toml
# The manifest names the benchmarks, so their files must exist for it to parse.
COPY benches benches
RUN mkdir -p src fakes/src \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs fakes/src/lib.rs \
    && cargo build --release --locked --bin tripleseat-revel-connector \
    && rm -rf src fakes/src
COPY build.rs build.rs
COPY src src
COPY migrations migrations
COPY fakes/src fakes/src
RUN touch src/main.rs src/lib.rs \
    && cargo build --release --locked --bin tripleseat-revel-connector \
    && strip target/release/tripleseat-revel-connector

# Runtime stage: a small Debian with CA certificates, running as a non-root user.
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin connector \
    && install -d -o connector -g connector /var/lib/connector
WORKDIR /app
COPY --from=build /app/target/release/tripleseat-revel-connector /usr/local/bin/tripleseat-revel-connector
COPY config config
USER connector
# Without DATABASE_URL the state goes to SQLite here (mount a disk for it to outlive the container).
ENV HOST=0.0.0.0 PORT=8000 LOG_FORMAT=json DATA_DIR=/var/lib/connector
EXPOSE 8000
ENTRYPOINT ["/usr/local/bin/tripleseat-revel-connector"]
CMD ["serve"]
