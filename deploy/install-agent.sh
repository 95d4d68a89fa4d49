#!/usr/bin/env bash
# Installs clawfleet-agent on a fleet node: the binary, its environment file, a systemd unit, and the
# Docker daemon settings the agent requires (userns-remap, live-restore, log limits). Idempotent.
#
#   sudo deploy/install-agent.sh --binary ./dist/clawfleet-agent [--secret kid:secret] [--root /]
#
# --root installs into another directory tree (used by the tests, or to build an image); then
# nothing is started and no service manager is touched.
set -euo pipefail

root=/
binary=""
secret=""
listen="0.0.0.0:7443"
while [ $# -gt 0 ]; do
  case "$1" in
    --root) root="$2"; shift 2 ;;
    --binary) binary="$2"; shift 2 ;;
    --secret) secret="$2"; shift 2 ;;
    --listen) listen="$2"; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install-agent: unknown option $1" >&2; exit 64 ;;
  esac
done
[ -n "$binary" ] && [ -x "$binary" ] || { echo "install-agent: --binary must point to the compiled clawfleet-agent" >&2; exit 64; }
command -v python3 >/dev/null || { echo "install-agent: python3 is needed to merge /etc/docker/daemon.json" >&2; exit 69; }
root="${root%/}"

# Encrypted volumes: ext4 images (e2fsprogs), loop devices and fscrypt ioctls (util-linux; the agent
# calls the ioctls itself). Only on the live system, never into a --root tree.
if [ -z "$root" ] && { ! command -v mkfs.ext4 >/dev/null || ! command -v resize2fs >/dev/null || ! command -v losetup >/dev/null; }; then
  if command -v apt-get >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq e2fsprogs util-linux >&2
  else
    echo "install-agent: install e2fsprogs and util-linux (mkfs.ext4, resize2fs, losetup)" >&2
  fi
fi
if [ -z "$root" ] && [ ! -e /sys/fs/ext4/features/encryption ]; then
  echo "install-agent: this kernel's ext4 has no encryption: the agent will refuse to start unless run with --allow-unencrypted-volumes" >&2
fi

install -d -m 0755 "$root/usr/local/bin" "$root/etc/systemd/system" "$root/etc/docker"
install -d -m 0700 "$root/etc/clawfleet" "$root/var/lib/clawfleet-agent"
install -m 0755 "$binary" "$root/usr/local/bin/clawfleet-agent"

env_file="$root/etc/clawfleet/agent.env"
if [ ! -f "$env_file" ]; then
  if [ -z "$secret" ]; then
    secret="k1:$(head -c 32 /dev/urandom | base64 | tr -d '\n=' | tr '+/' '-_')"
    echo "install-agent: generated a cluster secret; give the same CLAWFLEET_CLUSTER_SECRETS to the servers" >&2
  fi
  umask 077
  cat >"$env_file" <<ENV
# clawfleet-agent settings (see docs/OPERATIONS.md). Keep this file 0600: it holds the cluster secret.
CLAWFLEET_CLUSTER_SECRETS=$secret
CLAWFLEET_AGENT_LISTEN=$listen
CLAWFLEET_AGENT_DATA_DIR=/var/lib/clawfleet-agent
DOCKER_SOCKET=/var/run/docker.sock
# CLAWFLEET_AGENT_BLOCKED=10.0.0.0/8,172.16.0.0/12,192.168.0.0/16
# CLAWFLEET_AGENT_CAPACITY=cpu=16000,memory=28000,containers=60
ENV
fi
chmod 0600 "$env_file"

cat >"$root/etc/systemd/system/clawfleet-agent.service" <<'UNIT'
[Unit]
Description=clawfleet fleet agent
Documentation=https://github.com/clawfleet/clawfleet/blob/main/docs/OPERATIONS.md
After=network-online.target docker.service
Requires=docker.service
Wants=network-online.target

[Service]
Type=simple
EnvironmentFile=/etc/clawfleet/agent.env
ExecStart=/usr/local/bin/clawfleet-agent run
Restart=on-failure
RestartSec=2
# A bound on the agent itself: relays are back-pressured and capped, so this is a backstop against a
# bug, after which systemd restarts the agent (containers keep running: live-restore).
MemoryMax=1G
MemoryHigh=768M
TasksMax=4096
# The agent drives the Docker socket (root-equivalent), installs iptables rules, and mounts each
# container's encrypted volume image (mount, loop devices, fscrypt: CAP_SYS_ADMIN; chown of the data
# directory; online resize2fs: CAP_SYS_RESOURCE). Its mounts must be visible to dockerd, so the unit
# keeps the host's mount namespace: no ProtectSystem/ProtectHome/PrivateTmp/Protect* (each of those
# gives the service a mount namespace of its own, and a bind-mount source dockerd cannot see).
CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW CAP_DAC_OVERRIDE CAP_SYS_ADMIN CAP_CHOWN CAP_FOWNER CAP_SYS_RESOURCE
NoNewPrivileges=yes
RestrictSUIDSGID=yes
LockPersonality=yes
MemoryDenyWriteExecute=no
UMask=0077

[Install]
WantedBy=multi-user.target
UNIT
chmod 0644 "$root/etc/systemd/system/clawfleet-agent.service"

# Merge the required daemon settings into an existing daemon.json, keeping the operator's other keys.
python3 - "$root/etc/docker/daemon.json" <<'PY'
import json, os, sys
path = sys.argv[1]
current = {}
if os.path.exists(path) and os.path.getsize(path) > 0:
    with open(path) as f:
        current = json.load(f)
# One bridge network per container: the default address pools hold only ~30 networks, so carve
# small /28 networks out of a large pool (65,536 of them) unless the operator chose pools already.
required = {"userns-remap": "default", "live-restore": True, "no-new-privileges": True, "icc": False,
            "default-address-pools": [{"base": "10.224.0.0/12", "size": 28}],
            "log-driver": "json-file", "log-opts": {"max-size": "10m", "max-file": "3"}}
for key, value in required.items():
    if key == "log-opts":
        current.setdefault("log-opts", {}).update({k: v for k, v in value.items() if k not in current.get("log-opts", {})})
    elif key in ("userns-remap", "default-address-pools") and current.get(key) not in (None, "", []):
        continue
    else:
        current[key] = value
with open(path, "w") as f:
    json.dump(current, f, indent=2)
    f.write("\n")
PY

for file in subuid subgid; do
  touch "$root/etc/$file"
  grep -q '^dockremap:' "$root/etc/$file" || echo 'dockremap:100000:65536' >>"$root/etc/$file"
done

if [ "$root" = "" ] && command -v systemctl >/dev/null; then
  getent passwd dockremap >/dev/null || useradd --system --no-create-home --shell /usr/sbin/nologin dockremap
  systemctl daemon-reload
  echo "install-agent: restart Docker to apply daemon.json (containers survive: live-restore), then:"
  echo "  systemctl enable --now clawfleet-agent"
fi
echo "install-agent: installed. Register the node on a server with:"
echo "  clawfleet nodes add --name $(hostname -s 2>/dev/null || echo node) --url https://<this-host>:${listen##*:} --fingerprint \$(clawfleet-agent cert --data-dir /var/lib/clawfleet-agent)"
