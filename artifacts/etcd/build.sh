#!/usr/bin/env bash
# etcd server and etcdctl, built from the Go module proxy. go.etcd.io/etcd/server/v3 cannot be `go install`ed
# (its go.mod has replace directives), so this small module requires it and builds its main package.
set -euo pipefail
version=$(go list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3)
ldflags="-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=module-${version}"
CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$OUT/etcd" go.etcd.io/etcd/server/v3
CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$OUT/etcdctl" go.etcd.io/etcd/etcdctl/v3
"$OUT/etcd" --version | grep "etcd Version: ${version#v}" >/dev/null || { echo "build.sh: etcd reports the wrong version" >&2; exit 1; }
echo "$version" >"$OUT/VERSION"
