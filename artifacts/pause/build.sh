#!/usr/bin/env bash
# The pod sandbox ("pause") image, built from the Kubernetes source tree's build/pause/linux/pause.c the way its
# Makefile does it (gcc -Os -Wall -Werror -static), packed FROM scratch with ENTRYPOINT ["/pause"].
# The source comes from the k8s.io/kubernetes module pinned below (checked against the Go checksum database).
set -euo pipefail
kubernetes_version=v1.36.3
src=$(go mod download -json "k8s.io/kubernetes@${kubernetes_version}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
tag=$(sed -n 's/^TAG ?= *//p' "$src/build/pause/Makefile")
work=$(mktemp -d) && trap 'rm -rf "$work"' EXIT
gcc -Os -Wall -Werror -static -DVERSION="v${tag}-${kubernetes_version}" -o "$work/pause" "$src/build/pause/linux/pause.c"
strip "$work/pause"
"$work/pause" -v | grep "v${tag}" >/dev/null || { echo "build.sh: pause reports the wrong version" >&2; exit 1; }
./oci-image --out "$OUT/pause.oci.tar" --tag "$tag" --entrypoint '["/pause"]' --user 65535:65535 "$work/pause:/pause" >"$OUT/pause.oci.digest"
echo "$tag" >"$OUT/VERSION"
