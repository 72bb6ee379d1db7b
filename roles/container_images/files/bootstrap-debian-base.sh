#!/usr/bin/env bash
# Bootstrap a minimal Debian root filesystem and import it as a Docker image, with no registry.
#   bootstrap-debian-base.sh SUITE IMAGE_REF [MIRROR]
# The image's apt sources come from the host's own (codename swapped for SUITE), so images keep using the host's
# mirror (corporate or not) and get security updates; without Debian sources on the host, Debian's defaults.
set -euo pipefail
suite=$1 ref=$2 mirror=${3:-}

host_codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
sources=$(find /etc/apt/sources.list /etc/apt/sources.list.d -maxdepth 1 -type f \( -name '*.list' -o -name '*.sources' \) 2>/dev/null |
  xargs -r grep -l -E '^[^#]*(URIs:|deb) .*/debian(-security)?/?( |$)' 2>/dev/null || true)
if [ -z "$mirror" ] && [ -n "$sources" ]; then
  mirror=$(grep -h -oE '^[^#]*(URIs:|deb) +[a-z]+://[^ ]+/debian/?( |$)' $sources | head -n1 | grep -oE '[a-z]+://[^ ]+' || true)
fi

root=$(mktemp -d /var/tmp/debian-base.XXXXXX) && chmod 0755 "$root"
trap 'rm -rf "$root"' EXIT

echo "debootstrap $suite ${mirror:-(default mirror)}"
debootstrap --variant=minbase "$suite" "$root" ${mirror:+"$mirror"} >"$root.log" 2>&1 || { tail -n 30 "$root.log" >&2; rm -f "$root.log"; exit 1; }
rm -f "$root.log"

rm -f "$root/etc/apt/sources.list"
if [ -n "$sources" ]; then
  for f in $sources; do
    sed -e "s/\b${host_codename:-__none__}\b/${suite}/g" "$f" >"$root/etc/apt/sources.list.d/$(basename "$f")"
  done
else
  cat >"$root/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: http://deb.debian.org/debian
Suites: ${suite} ${suite}-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: ${suite}-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
fi

# Images stay small and never ask questions; security updates go in before the first image is built on it.
cat >"$root/etc/apt/apt.conf.d/90-container" <<'APT'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Dpkg::Use-Pty "false";
APT
chroot "$root" apt-get update -qq
DEBIAN_FRONTEND=noninteractive chroot "$root" apt-get -qq -y upgrade >/dev/null
chroot "$root" apt-get clean
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/log/* "$root"/tmp/*

tar -C "$root" --numeric-owner -c . | docker import \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["/bin/bash"]' \
  --change "LABEL org.opencontainers.image.title=debian-${suite}-base org.opencontainers.image.created=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  - "$ref"
