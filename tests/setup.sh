#!/usr/bin/env bash
# Provision what the test suite needs on a fresh Debian machine of this kind, idempotently:
# Debian's docker-registry (the v2 registry), busybox-static (the offline base image),
# apache2-utils (htpasswd), git, docker-compose 1.29 (the compose oracle), a running Docker
# Engine, pathspec 0.12.1 (the EB CLI's .ebignore engine, an oracle) and the base image itself.
# Called by tests/run.sh (the README's test command) and .ci/run; safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n=== %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

packages=()
command -v docker-registry >/dev/null || packages+=(docker-registry)
{ [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1; } || packages+=(busybox-static)
command -v htpasswd >/dev/null || packages+=(apache2-utils)
command -v git >/dev/null || packages+=(git)
command -v docker-compose >/dev/null || packages+=(docker-compose)
# Docker endpoint tests: a TLS proxy with client certificates, an sshd on loopback.
command -v stunnel4 >/dev/null || packages+=(stunnel4)
command -v openssl >/dev/null || packages+=(openssl)
[ -x /usr/sbin/sshd ] || packages+=(openssh-server)
command -v ssh >/dev/null || packages+=(openssh-client)
if ! docker info >/dev/null 2>&1 && ! command -v dockerd >/dev/null; then
    packages+=(docker.io)
fi
if [ -n "${STEVEDORE_EXTRA_PACKAGES:-}" ]; then
    # shellcheck disable=SC2206
    packages+=(${STEVEDORE_EXTRA_PACKAGES})
fi
if [ "${#packages[@]}" -gt 0 ]; then
    log "installing ${packages[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}"
fi

# The Docker Engine: use the one that answers, or start one.
if ! docker info >/dev/null 2>&1; then
    log "starting dockerd"
    as_root sh -c 'nohup dockerd >/tmp/dockerd.log 2>&1 &'
    for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
    docker info >/dev/null 2>&1 || { cat /tmp/dockerd.log; echo "dockerd did not start" >&2; exit 1; }
fi
docker version --format 'Docker Engine {{.Server.Version}} (API {{.Server.APIVersion}})'

if ! python3 -c 'import pathspec, sys; sys.exit(pathspec.__version__ != "0.12.1")' 2>/dev/null; then
    log "installing pathspec==0.12.1"
    python3 -m pip install --quiet --disable-pip-version-check 'pathspec==0.12.1'
fi

# The ECR tests push to an ECR-shaped registry name served on loopback (tests/support/ecr.rs).
ecr_host=000000000000.dkr.ecr.us-east-1.amazonaws.com
if ! grep -q "[[:space:]]$ecr_host\([[:space:]]\|$\)" /etc/hosts; then
    log "mapping $ecr_host to 127.0.0.1 in /etc/hosts"
    echo "127.0.0.1 $ecr_host" | as_root tee -a /etc/hosts >/dev/null
fi

bash tests/support/base-image.sh
