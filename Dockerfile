# Build: docker build -t primary-care-api .
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin primary-care-api

FROM debian:bookworm-slim
# libpq is linked statically (pq-sys "bundled") but uses the system OpenSSL.
RUN apt-get update && apt-get install -y --no-install-recommends libssl3 ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/primary-care-api /usr/local/bin/primary-care-api
RUN useradd --system --home /var/lib/pcr --create-home pcr
USER pcr
WORKDIR /var/lib/pcr
ENV BIND_ADDR=0.0.0.0:8080
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s CMD curl -fsS http://127.0.0.1:8080/readyz || exit 1
ENTRYPOINT ["primary-care-api"]
CMD ["serve"]
