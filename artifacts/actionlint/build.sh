#!/usr/bin/env bash
# actionlint (module github.com/rhysd/actionlint), the GitHub Actions workflow linter `make lint` runs, built from
# the Go module proxy. Its version is stamped into the package variable the upstream release builds set (a plain
# `go build` of a dependency would report this recipe's module version instead).
set -euo pipefail
version=$(go list -m -f '{{.Version}}' github.com/rhysd/actionlint)
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/rhysd/actionlint.version=${version}" \
  -o "$OUT/actionlint" github.com/rhysd/actionlint/cmd/actionlint
"$OUT/actionlint" -version | head -n 1 | grep -Fx "$version" >/dev/null || { echo "build.sh: actionlint reports the wrong version" >&2; exit 1; }
echo "$version" >"$OUT/VERSION"
