# syntax=docker/dockerfile:1
# Multi-stage build: a static pgcdc binary on a distroless base, run as an
# unprivileged user (nonroot, uid 65532).
#
#   docker build -t pgcdc .                        # version from the git checkout
#   docker build --build-arg VERSION=v1.2.3 -t pgcdc .
#   docker run -v "$PWD/pipeline.yaml:/etc/pgcdc/pipeline.yaml:ro" \
#     -v pgcdc-data:/var/lib/pgcdc -p 127.0.0.1:8080:8080 pgcdc
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# VERSION, when set, wins over what go build reads from the checkout's .git.
ARG VERSION=
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w${VERSION:+ -X main.version=$VERSION}" -o /out/pgcdc ./cmd/pgcdc
RUN mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/pgcdc /usr/local/bin/pgcdc
# The working directory is writable by pgcdc: relative paths in the config
# (dead_letter: ./pgcdc-dead-letter.jsonl) land there. Mount a volume on it
# to keep them across containers.
COPY --from=build --chown=65532:65532 /out/data /var/lib/pgcdc
USER nonroot:nonroot
WORKDIR /var/lib/pgcdc
# Inside the container the server must listen on all interfaces to be
# reachable through a published port. The live endpoints have no access
# control (pgcdc warns): publish on the host's loopback, or behind a proxy.
ENV PGCDC_SERVER_LISTEN=0.0.0.0:8080
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["/usr/local/bin/pgcdc", "health", "--url", "http://127.0.0.1:8080/readyz"]
ENTRYPOINT ["/usr/local/bin/pgcdc"]
CMD ["run", "-c", "/etc/pgcdc/pipeline.yaml"]
