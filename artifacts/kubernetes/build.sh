#!/usr/bin/env bash
# Kubernetes server and client binaries, built from the Go module proxy (module k8s.io/kubernetes).
#
# go.mod pins k8s.io/kubernetes and replaces each k8s.io staging module (required there as v0.0.0) with its
# published v0.<minor>.<patch> tag. The flags follow upstream's hack/lib/golang.sh for release builds: -trimpath,
# -s -w, tags selinux,notest,grpcnotrace and the version variables of hack/lib/version.sh (without a git commit,
# which the module proxy does not carry). Every binary is built with CGO_ENABLED=0 in one `go build`, so packages
# are compiled once (upstream links the kubelet with cgo; the static kubelet is what this project runs and tests).
set -euo pipefail
version=$(go list -m -f '{{.Version}}' k8s.io/kubernetes)
released=$(go list -m -f '{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}' k8s.io/kubernetes)
major=${version#v}; major=${major%%.*}
minor=${version#v"$major".}; minor=${minor%%.*}
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor -X $pkg.buildDate=$released"
done
binaries=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)
CGO_ENABLED=0 go build -trimpath -tags selinux,notest,grpcnotrace -ldflags "$ldflags" -o "$OUT/" \
  "${binaries[@]/#/k8s.io/kubernetes/cmd/}"
for b in "${binaries[@]}"; do
  reported=$("$OUT/$b" --version 2>/dev/null || "$OUT/$b" version --client 2>/dev/null || true)
  case $reported in
    *"$version"*) ;;
    *) echo "build.sh: $b reports '$reported', expected $version" >&2; exit 1 ;;
  esac
done
echo "$version" >"$OUT/VERSION"
