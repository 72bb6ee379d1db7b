#!/usr/bin/env bash
# MetalLB (L2 mode, no FRR): controller and speaker as static binaries in FROM-scratch images, plus the upstream
# install manifest of the same version (CRDs, RBAC, webhook), which the k8s_cluster role applies with its own
# image names. Everything comes from the go.universe.tf/metallb module pinned in go.mod.
set -euo pipefail
version=$(go list -m -f '{{.Version}}' go.universe.tf/metallb)
# `go list -m` names the module's directory only once it is in the module cache: download it first.
go mod download go.universe.tf/metallb
src=$(go list -m -f '{{.Dir}}' go.universe.tf/metallb)
[ -f "$src/config/manifests/metallb-native.yaml" ] || { echo "build.sh: no MetalLB source in '$src'" >&2; exit 1; }
ldflags="-s -w -X go.universe.tf/metallb/internal/version.gitCommit=module -X go.universe.tf/metallb/internal/version.gitBranch=${version}"
work=$(mktemp -d) && trap 'rm -rf "$work"' EXIT
CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$work/" go.universe.tf/metallb/controller go.universe.tf/metallb/speaker
../pause/oci-image --out "$OUT/metallb-controller.oci.tar" --tag "$version" --entrypoint '["/controller"]' \
  --user 65534 "$work/controller:/controller" "$src/LICENSE:/LICENSE:644" >"$OUT/metallb-controller.oci.digest"
../pause/oci-image --out "$OUT/metallb-speaker.oci.tar" --tag "$version" --entrypoint '["/speaker"]' \
  "$work/speaker:/speaker" "$src/LICENSE:/LICENSE:644" >"$OUT/metallb-speaker.oci.digest"
install -m 0644 "$src/config/manifests/metallb-native.yaml" "$OUT/metallb-native.yaml"
echo "$version" >"$OUT/VERSION"
