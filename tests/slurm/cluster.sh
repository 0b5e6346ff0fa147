#!/usr/bin/env bash
# A one-node Slurm cluster for tests (sourced): munged + slurmctld + slurmd in a private
# directory, with GPU gres backed by plain files (Name=gpu File=<tmpfile>), Name=mps and
# Name=shard counts. No cgroups, no accounting database: what Debian 12's slurm-wlm 22.05
# accepts on a machine without a GPU. Needs root (slurmd starts jobs as their users).
#
#   source tests/slurm/cluster.sh
#   slurm_cluster_start DIR     # exports SLURM_CONF; returns 77 when Slurm cannot run here
#   slurm_cluster_stop          # idempotent; call it from an EXIT trap
#
# Ports are chosen from the PID so that parallel fixtures do not collide.
slurm_cluster_missing() {
  local b
  for b in munged slurmctld slurmd sbatch srun squeue scontrol scancel; do
    command -v "$b" >/dev/null 2>&1 || { echo "$b"; return 0; }
  done
  return 1
}

slurm_cluster_stop() {
  local f pid p
  [ -n "${SLURM_FIXTURE_DIR:-}" ] || return 0
  # Jobs first, while slurmctld and slurmd still run, so that their steps end cleanly.
  if [ -f "$SLURM_FIXTURE_DIR/slurmctld.pid" ]; then
    scancel --full --quiet --user="$(id -un)" 2>/dev/null || true
    for _ in $(seq 50); do
      [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break
      sleep 0.2
    done
  fi
  for f in slurmd slurmctld munged; do
    [ -n "${SLURM_FIXTURE_DIR:-}" ] && [ -f "$SLURM_FIXTURE_DIR/$f.pid" ] || continue
    pid=$(cat "$SLURM_FIXTURE_DIR/$f.pid" 2>/dev/null || true)
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  done
  # slurmd's job steps (slurmstepd) end with their jobs; wait for the daemons to go.
  for f in slurmd slurmctld munged; do
    [ -n "${SLURM_FIXTURE_DIR:-}" ] && [ -f "$SLURM_FIXTURE_DIR/$f.pid" ] || continue
    pid=$(cat "$SLURM_FIXTURE_DIR/$f.pid" 2>/dev/null || true)
    for _ in $(seq 50); do
      [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
    rm -f "$SLURM_FIXTURE_DIR/$f.pid"
  done
  # A job step left behind by a daemon killed mid-job: the slurmstepd holding this
  # fixture's slurmd log open (no other process's).
  for p in /proc/[0-9]*; do
    [ "$(cat "$p/comm" 2>/dev/null)" = slurmstepd ] || continue
    if ls -l "$p/fd" 2>/dev/null | grep -qF "$SLURM_FIXTURE_DIR/"; then
      kill -9 "${p#/proc/}" 2>/dev/null || true
    fi
  done
}

slurm_cluster_start() {
  local dir="$1" miss
  if miss=$(slurm_cluster_missing); then
    echo "SKIP: Slurm is not installed ($miss not found; apt-get install slurm-wlm munge)"
    return 77
  fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: the one-node Slurm fixture needs root (slurmd)"
    return 77
  fi
  SLURM_FIXTURE_DIR="$dir"
  export SLURM_FIXTURE_DIR
  mkdir -p "$dir"/{munge,spool,state,log,dev}
  chmod 700 "$dir/munge"
  dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
  chmod 400 "$dir/munge/munge.key"
  munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
    --pid-file="$dir/munged.pid" --log-file="$dir/log/munged.log" \
    --seed-file="$dir/munge/munge.seed" || { echo "munged failed to start"; return 1; }
  local base=$((20000 + ($$ % 2000) * 4))
  local host
  host=$(hostname -s)
  : > "$dir/dev/gpu0"
  cat > "$dir/gres.conf" <<GRES
NodeName=$host Name=gpu File=$dir/dev/gpu0
NodeName=$host Name=mps Count=100 File=$dir/dev/gpu0
NodeName=$host Name=shard Count=4 File=$dir/dev/gpu0
GRES
  cat > "$dir/slurm.conf" <<CONF
ClusterName=colotest
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$base
SlurmdPort=$((base + 1))
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
GresTypes=gpu,mps,shard
MpiDefault=none
ReturnToService=2
MinJobAge=600
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) Gres=gpu:1,mps:100,shard:4 State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
  export SLURM_CONF="$dir/slurm.conf"
  slurmctld -f "$SLURM_CONF" || { echo "slurmctld failed to start"; tail -20 "$dir/log/slurmctld.log"; return 1; }
  slurmd -f "$SLURM_CONF" || { echo "slurmd failed to start"; tail -20 "$dir/log/slurmd.log"; return 1; }
  local i
  for i in $(seq 150); do
    if sinfo -h -o '%T' 2>/dev/null | grep -qx 'idle'; then
      return 0
    fi
    sleep 0.2
  done
  echo "the Slurm node did not become idle in 30 s:"
  sinfo 2>&1 | head; tail -20 "$dir/log/slurmctld.log" "$dir/log/slurmd.log"
  return 1
}
