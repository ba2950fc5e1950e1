# syntax=docker/dockerfile:1
# Multi-stage build: a static pgcdc binary on a distroless base, run as an
# unprivileged user.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/pgcdc ./cmd/pgcdc

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/pgcdc /usr/local/bin/pgcdc
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/pgcdc"]
CMD ["run", "-c", "/etc/pgcdc/pipeline.yaml"]
