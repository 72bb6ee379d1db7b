#!/usr/bin/env bash
# trivy-db-fixture: writes real trivy vulnerability DBs from a JSON spec of synthetic advisories, with trivy-db's own
# code (module github.com/aquasecurity/trivy-db). Tests make DBs with it at test time to see the vulnerability gate
# fail and pass offline; see main.go for the spec. trivy-db and bbolt are pinned to the versions the trivy artifact
# is built with, so the DB has the schema and file format that trivy reads.
set -euo pipefail
for module in github.com/aquasecurity/trivy-db go.etcd.io/bbolt; do
  mine=$(go list -m -f '{{.Version}}' "$module")
  trivys=$(cd ../trivy && go list -m -f '{{.Version}}' "$module")
  [ "$mine" = "$trivys" ] || {
    echo "build.sh: $module is $mine here but $trivys in artifacts/trivy/go.mod; pin the same version" >&2
    exit 1
  }
done
version=$(go list -m -f '{{.Version}}' github.com/aquasecurity/trivy-db)
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$OUT/trivy-db-fixture" .
# A smoke build: one advisory must give a DB of the schema trivy-db declares.
smoke=$(mktemp -d)
trap 'rm -rf "$smoke"' EXIT
echo '{"advisories": [{"id": "CVE-0000-0000", "ecosystem": "debian", "release": "12", "package": "none",
  "severity": "LOW"}]}' >"$smoke/spec.json"
"$OUT/trivy-db-fixture" -spec "$smoke/spec.json" -out "$smoke/db"
grep -q "\"Version\":$("$OUT/trivy-db-fixture" -schema-version)," "$smoke/db/metadata.json" || {
  echo "build.sh: the smoke DB's metadata.json has the wrong schema version" >&2
  exit 1
}
echo "trivy-db $version" >"$OUT/VERSION"
