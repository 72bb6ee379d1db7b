#!/usr/bin/env bash
# CoreDNS, built from the Go module proxy with the plugin set in main.go, as a static binary in a FROM-scratch
# image (the cluster DNS the k8s_cluster role deploys).
set -euo pipefail
version=$(go list -m -f '{{.Version}}' github.com/coredns/coredns)
work=$(mktemp -d) && trap 'rm -rf "$work"' EXIT
# -buildvcs=false: the recipe lives in the project's git checkout; stamping its commit would make every build differ.
CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags "-s -w -X github.com/coredns/coredns/coremain.GitCommit=module-${version}" \
  -o "$work/coredns" .
"$work/coredns" -version | grep "CoreDNS-${version#v}" >/dev/null || { echo "build.sh: coredns reports the wrong version" >&2; exit 1; }
"$work/coredns" -plugins | grep -E '^[[:space:]]*(dns\.)?kubernetes$' >/dev/null || { echo "build.sh: coredns lacks the kubernetes plugin" >&2; exit 1; }
../pause/oci-image --out "$OUT/coredns.oci.tar" --tag "$version" --entrypoint '["/coredns"]' \
  --user 65532 "$work/coredns:/coredns" >"$OUT/coredns.oci.digest"
echo "$version" >"$OUT/VERSION"
