#!/usr/bin/env bash
# containerd 2.x, its runc shim and ctr, built from the Go module proxy as static binaries (CGO_ENABLED=0 leaves
# out the btrfs snapshotter, which needs cgo; overlayfs and native remain). Tags follow containerd's Makefile.
set -euo pipefail
version=$(go list -m -f '{{.Version}}' github.com/containerd/containerd/v2)
pkg=github.com/containerd/containerd/v2
ldflags="-s -w -X $pkg/version.Version=$version -X $pkg/version.Revision=module -X $pkg/version.Package=$pkg"
CGO_ENABLED=0 go build -trimpath -tags "urfave_cli_no_docs osusergo netgo static_build" -ldflags "$ldflags" \
  -o "$OUT/" "$pkg/cmd/containerd" "$pkg/cmd/ctr"
CGO_ENABLED=0 go build -trimpath -tags "urfave_cli_no_docs osusergo netgo static_build no_grpc" -ldflags "$ldflags" \
  -o "$OUT/" "$pkg/cmd/containerd-shim-runc-v2"
"$OUT/containerd" --version | grep " $version " >/dev/null || { echo "build.sh: containerd reports the wrong version" >&2; exit 1; }
echo "$version" >"$OUT/VERSION"
