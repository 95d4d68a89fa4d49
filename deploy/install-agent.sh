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
# The agent drives the Docker socket (root-equivalent) and installs iptables rules; nothing more.
CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW CAP_DAC_OVERRIDE
NoNewPrivileges=yes
ProtectSystem=strict
ReadWritePaths=/var/lib/clawfleet-agent /run/xtables.lock
ProtectHome=yes
PrivateTmp=yes
ProtectKernelModules=yes
ProtectKernelTunables=yes
ProtectControlGroups=yes
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
