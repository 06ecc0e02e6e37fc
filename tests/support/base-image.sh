#!/usr/bin/env bash
# Make the demo's base image offline: a rootfs of Debian's busybox-static, imported with
# `docker import` under the public tag the Dockerfiles default to. Nothing is pulled.
# Usage: tests/support/base-image.sh [TAG]   (default busybox:1.36)
# An existing image with that tag is left alone (a real pulled busybox works just as well).
set -euo pipefail
tag="${1:-busybox:1.36}"
if docker image inspect "$tag" >/dev/null 2>&1; then
    echo "base image $tag already present"
    exit 0
fi
# A fresh machine has no static busybox: install Debian's (as root, or through sudo).
if ! { [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1; } && command -v apt-get >/dev/null; then
    echo "installing Debian's busybox-static for the base image"
    as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends busybox-static
fi
busybox="$(command -v busybox || true)"
[ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1 && busybox=/bin/busybox
if [ -z "$busybox" ] || [ ! -x "$busybox" ]; then
    echo "busybox not found: install Debian's busybox-static (apt-get install busybox-static)" >&2
    exit 1
fi
if ldd "$busybox" >/dev/null 2>&1; then
    echo "$busybox is dynamically linked; install busybox-static" >&2
    exit 1
fi
rootfs="$(mktemp -d)"
trap 'rm -rf "$rootfs"' EXIT
mkdir -p "$rootfs"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,root,var/app,proc,sys,dev}
chmod 1777 "$rootfs/tmp"
cp "$busybox" "$rootfs/bin/busybox"
for applet in $("$busybox" --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$rootfs/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$rootfs/etc/group"
tar -C "$rootfs" --numeric-owner --owner=0 --group=0 -c . \
    | docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'LABEL org.stevedore.test-base=busybox-static' \
        --change 'CMD ["sh"]' \
        - "$tag" >/dev/null
echo "base image $tag created from $busybox"
