#!/usr/bin/env bash
# trivy (module github.com/aquasecurity/trivy), built from the Go module proxy the way its goreleaser.yml builds
# releases: static, CGO off, GOEXPERIMENT=jsonv2, the version stamped into pkg/version/app.ver (a plain
# `go install` reports "dev"). The verify role installs it on hosts after checking SHA256SUMS.
set -euo pipefail
version=$(go list -m -f '{{.Version}}' github.com/aquasecurity/trivy)
CGO_ENABLED=0 GOEXPERIMENT=jsonv2 go build -trimpath \
  -ldflags "-s -w -X github.com/aquasecurity/trivy/pkg/version/app.ver=${version#v}" \
  -o "$OUT/trivy" github.com/aquasecurity/trivy/cmd/trivy
"$OUT/trivy" --version | grep "Version: ${version#v}" >/dev/null || { echo "build.sh: trivy reports the wrong version" >&2; exit 1; }
echo "$version" >"$OUT/VERSION"
