#!/usr/bin/env bash
# Docker Compose v2+ CLI plugin (module github.com/docker/compose/v5), built from the Go module proxy.
set -euo pipefail
version=$(go list -m -f '{{.Version}}' github.com/docker/compose/v5)
CGO_ENABLED=0 go build -trimpath \
  -ldflags "-s -w -X github.com/docker/compose/v5/internal.Version=${version}" \
  -o "$OUT/docker-compose" github.com/docker/compose/v5/cmd
echo "$version" >"$OUT/VERSION"
