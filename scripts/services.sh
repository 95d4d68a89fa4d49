#!/usr/bin/env bash
# Installs and starts what the test suite needs besides npm packages: the Docker engine with the
# project's daemon settings (userns-remap on), a PostgreSQL cluster run as `postgres`, and Chromium.
# Idempotent: a service already running with the right settings is left alone.
# Prints the environment the tests read, as `export` lines, on stdout.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
log() { echo "services: $*" >&2; }

need_apt=()
command -v dockerd >/dev/null 2>&1 || need_apt+=(docker.io)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v iptables >/dev/null 2>&1 || need_apt+=(iptables)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_apt+=(postgresql)
command -v busybox >/dev/null 2>&1 || need_apt+=(busybox-static)
command -v gcc >/dev/null 2>&1 || need_apt+=(gcc)
[ -f /usr/lib/x86_64-linux-gnu/libc.a ] || need_apt+=(libc6-dev)
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
command -v pgrep >/dev/null 2>&1 || need_apt+=(procps)
command -v ip >/dev/null 2>&1 || need_apt+=(iproute2)
# Encrypted container volumes: ext4 images and loop devices (the agent calls the fscrypt ioctls itself).
command -v mkfs.ext4 >/dev/null 2>&1 || need_apt+=(e2fsprogs)
command -v resize2fs >/dev/null 2>&1 || need_apt+=(e2fsprogs)
command -v losetup >/dev/null 2>&1 || need_apt+=(util-linux)
command -v pebble >/dev/null 2>&1 || need_apt+=(pebble) # Let's Encrypt's test CA, for the ACME tests
if [ ${#need_apt[@]} -gt 0 ]; then
  log "apt-get install ${need_apt[*]}"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >&2
fi

# --- Docker engine -------------------------------------------------------------------------------
docker_ok() { docker info --format '{{json .SecurityOptions}}' 2>/dev/null | grep -q userns; }
applied=/run/clawfleet-daemon.json
if docker_ok && ! cmp -s "$here/deploy/daemon.json" "$applied" 2>/dev/null; then
  log "deploy/daemon.json changed since dockerd started; restarting it (containers survive: live-restore)"
  pkill -x dockerd || true
  for _ in $(seq 1 30); do pgrep -x dockerd >/dev/null || break; sleep 1; done
fi
if ! docker_ok; then
  if docker info >/dev/null 2>&1; then
    log "a Docker daemon without userns-remap is running; restarting it with deploy/daemon.json"
    pkill -x dockerd || true
    for _ in $(seq 1 30); do pgrep -x dockerd >/dev/null || break; sleep 1; done
  fi
  getent passwd dockremap >/dev/null || useradd --system --no-create-home --shell /usr/sbin/nologin dockremap
  grep -q '^dockremap:' /etc/subuid || echo 'dockremap:100000:65536' >>/etc/subuid
  grep -q '^dockremap:' /etc/subgid || echo 'dockremap:100000:65536' >>/etc/subgid
  log "starting dockerd"
  nohup dockerd --config-file "$here/deploy/daemon.json" >/var/log/clawfleet-dockerd.log 2>&1 &
  for _ in $(seq 1 60); do docker_ok && break; sleep 1; done
  docker_ok || { tail -20 /var/log/clawfleet-dockerd.log >&2; log "dockerd did not start"; exit 1; }
  cp "$here/deploy/daemon.json" "$applied"
fi
log "docker: $(docker version --format '{{.Server.Version}}') with userns-remap"

# --- PostgreSQL ----------------------------------------------------------------------------------
pg_bin="$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")"
pg_dir=/var/tmp/clawfleet-test-pg
pg_port=55432
if ! "$pg_bin/pg_isready" -h 127.0.0.1 -p "$pg_port" -q 2>/dev/null; then
  if [ ! -s "$pg_dir/PG_VERSION" ]; then
    rm -rf "$pg_dir"
    install -d -o postgres -g postgres -m 0700 "$pg_dir"
    su postgres -s /bin/sh -c "'$pg_bin/initdb' -D '$pg_dir' -U postgres --auth=trust -E UTF8 >/dev/null"
  fi
  su postgres -s /bin/sh -c "'$pg_bin/pg_ctl' -D '$pg_dir' -l '$pg_dir/server.log' -w -o \"-p $pg_port -k /tmp -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off\" start" >&2
fi
log "postgres: listening on 127.0.0.1:$pg_port"

command -v chromium >/dev/null && log "chromium: $(chromium --version 2>/dev/null | head -1)"
echo "export CLAWFLEET_TEST_PG_URL=postgres://postgres@127.0.0.1:$pg_port/postgres"
echo "export CLAWFLEET_TEST_CHROMIUM=$(command -v chromium)"
