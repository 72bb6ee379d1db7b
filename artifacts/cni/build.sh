#!/usr/bin/env bash
# The CNI plugins a single-bridge pod network needs (bridge, host-local, loopback, portmap), built from the Go
# module proxy as static binaries.
set -euo pipefail
version=$(go list -m -f '{{.Version}}' github.com/containernetworking/plugins)
mod=github.com/containernetworking/plugins
ldflags="-s -w -X $mod/pkg/utils/buildversion.BuildVersion=$version"
CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$OUT/" \
  $mod/plugins/main/bridge $mod/plugins/main/loopback $mod/plugins/ipam/host-local $mod/plugins/meta/portmap
echo "$version" >"$OUT/VERSION"
