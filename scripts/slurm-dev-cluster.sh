#!/usr/bin/env bash
# A single-node Slurm cluster bound to localhost, for development and the tests.
#
#   scripts/slurm-dev-cluster.sh start    install slurm + munge if missing (Debian, as root), start
#                                         munged, slurmctld and slurmd; does nothing if already up
#   scripts/slurm-dev-cluster.sh stop     stop the daemons started by `start`
#   scripts/slurm-dev-cluster.sh status   exit 0 when the cluster answers, print sinfo
#
# Partitions: `cpu` (default) and `gpu` (the same node, no GPUs: it lets profiles per kind of job be
# tested for real). State, logs and pid files live under /var/lib/rhinoapp-slurm.
set -euo pipefail

ROOT=/var/lib/rhinoapp-slurm
CONF=/etc/slurm/slurm.conf
HOST=$(hostname -s)
CPUS=${RHINOAPP_SLURM_CPUS:-8}
MEMORY_MB=${RHINOAPP_SLURM_MEMORY_MB:-16000}

log() { echo "slurm-dev-cluster: $*" >&2; }

is_up() {
  command -v scontrol >/dev/null 2>&1 || return 1
  timeout 3 scontrol ping 2>/dev/null | grep -q "is UP" || return 1
  timeout 3 sinfo -h -o "%T" 2>/dev/null | grep -qE "idle|mix|alloc"
}

need_root() {
  if [ "$(id -u)" != 0 ]; then
    log "must run as root to install and start Slurm (try: sudo $0 $1)"
    exit 1
  fi
}

install_packages() {
  local missing=()
  for p in slurmctld slurmd slurm-client munge; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || {
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    }
  fi
}

write_config() {
  mkdir -p "$ROOT/ctld" "$ROOT/d" "$ROOT/log" /etc/slurm
  # The daemons must resolve this host to the loopback address, or they listen everywhere.
  if ! getent hosts "$HOST" | grep -q '^127\.'; then
    echo "127.0.0.1 $HOST" >> /etc/hosts
  fi
  cat > "$CONF.tmp" <<EOF
# Written by rhinoapp scripts/slurm-dev-cluster.sh: a single-node development cluster.
ClusterName=rhinodev
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
SchedulerParameters=batch_sched_delay=0
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
SlurmdParameters=config_overrides
KillWait=5
MinJobAge=300
JobCompType=jobcomp/filetxt
JobCompLoc=$ROOT/log/jobcomp.txt
StateSaveLocation=$ROOT/ctld
SlurmdSpoolDir=$ROOT/d
SlurmctldPidFile=$ROOT/slurmctld.pid
SlurmdPidFile=$ROOT/slurmd.pid
SlurmctldLogFile=$ROOT/log/slurmctld.log
SlurmdLogFile=$ROOT/log/slurmd.log
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEMORY_MB State=UNKNOWN
PartitionName=cpu Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=$HOST Default=NO MaxTime=INFINITE State=UP
EOF
  mv "$CONF.tmp" "$CONF"
}

start_munge() {
  if pgrep -x munged >/dev/null && [ -S /run/munge/munge.socket.2 ]; then return; fi
  pkill -x munged 2>/dev/null || true
  mkdir -p /run/munge /var/log/munge /var/lib/munge /etc/munge
  if [ ! -s /etc/munge/munge.key ]; then
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
  fi
  chown -R munge:munge /run/munge /var/log/munge /var/lib/munge /etc/munge
  chmod 0700 /etc/munge && chmod 0400 /etc/munge/munge.key
  runuser -u munge -- /usr/sbin/munged
  for _ in $(seq 50); do [ -S /run/munge/munge.socket.2 ] && return; sleep 0.1; done
  log "munged did not create its socket; see /var/log/munge/munged.log"
  exit 1
}

wait_until_up() {
  local deadline=$((SECONDS + 30))
  until is_up; do
    if [ $SECONDS -ge $deadline ]; then
      log "the cluster did not come up within 30 s; see $ROOT/log/*.log"
      tail -n 20 "$ROOT"/log/slurmctld.log "$ROOT"/log/slurmd.log >&2 || true
      exit 1
    fi
    sleep 0.3
  done
}

start() {
  if is_up; then
    log "already running"
    return 0
  fi
  need_root start
  install_packages
  write_config
  start_munge
  pgrep -x slurmctld >/dev/null || slurmctld
  pgrep -x slurmd >/dev/null || slurmd
  wait_until_up
  scontrol update nodename="$HOST" state=resume >/dev/null 2>&1 || true
  log "up: partitions $(sinfo -h -o '%P' | tr '\n' ' ')"
}

stop() {
  local name pid
  for name in slurmd slurmctld; do
    if [ -f "$ROOT/$name.pid" ]; then
      pid=$(cat "$ROOT/$name.pid" 2>/dev/null || true)
      [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
    fi
    pkill -x "$name" 2>/dev/null || true
  done
  for _ in $(seq 50); do
    pgrep -x slurmctld >/dev/null || pgrep -x slurmd >/dev/null || break
    sleep 0.1
  done
  pkill -x munged 2>/dev/null || true
  for _ in $(seq 50); do pgrep -x munged >/dev/null || break; sleep 0.1; done
  log "stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status)
    if is_up; then sinfo; else log "not running"; exit 1; fi ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
