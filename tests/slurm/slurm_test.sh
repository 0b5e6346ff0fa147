#!/usr/bin/env bash
# colo on a real one-node Slurm cluster (tests/slurm/cluster.sh: Debian's slurm-wlm + munge,
# GPU gres backed by a plain file): `colo slurm config --check`, Slurm's MPS share environment,
# an experiment on the simulated GPU through `colo run --slurm` (the gres each job asked for),
# and the failure cases (Slurm not installed, an invalid partition, a job cancelled outside
# colo and the resume after it, the controller down). Exit 77 (skipped) without Slurm or root.
#   slurm_test.sh BIN_DIR WORK_DIR
set -uo pipefail
bin="$1"
work="$2"
here="$(cd "$(dirname "$0")" && pwd)"
colo="$bin/colo"
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1
fails=0
failed=()
check() {  # check DESCRIPTION COMMAND...: runs the command, counts a failure
  if "${@:2}"; then echo "ok   $1"; else echo "FAIL $1"; fails=$((fails + 1)); failed+=("$1"); fi
}
# Waits (up to $1 s, polling every 0.2 s) until the command succeeds; a loaded CI machine (ASan
# builds, tests in parallel) can take many seconds to start or to clean up a job.
wait_for() {
  local deadline=$((SECONDS + $1))
  while ! "${@:2}"; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

# Slurm not installed: a clear message, exit 2 (runs everywhere, before the fixture).
out=$(PATH=/nonexistent "$colo" slurm config --gpu sim --check 2>&1); rc=$?
check "no Slurm: exit 2 ($rc)" test "$rc" -eq 2
check "no Slurm: says so" grep -q "Slurm is not installed here" <<<"$out"

source "$here/cluster.sh"
trap slurm_cluster_stop EXIT
slurm_cluster_start "$work/cluster"
rc=$?
if [ $rc -eq 77 ]; then exit 77; fi
[ $rc -eq 0 ] || { echo "FAIL: the Slurm fixture did not start"; exit 1; }
host=$(hostname -s)

# colo slurm config --check against the fixture's configuration: all present.
out=$("$colo" slurm config --gpu sim --node "$host" --check 2>&1); rc=$?
echo "$out"
check "slurm config --check passes on the fixture" test "$rc" -eq 0
# A node that lacks what colo wants (more shards than 0 is fine; 2 GPUs are not there).
out=$("$colo" slurm config --gpu sim --node nosuchnode --check 2>&1); rc=$?
check "slurm config --check: an unknown node is missing (exit $rc)" test "$rc" -eq 1
check "slurm config --check: prints the line to add" grep -q "+ slurm.conf: NodeName=nosuchnode Gres=gpu:h100:1,mps:100,shard:4" <<<"$out"

# Slurm's MPS share: --gres=mps:50 sets CUDA_MPS_ACTIVE_THREAD_PERCENTAGE=50.
out=$(srun --gres=mps:50 env 2>&1)
check "srun --gres=mps:50 sets CUDA_MPS_ACTIVE_THREAD_PERCENTAGE=50" grep -qx "CUDA_MPS_ACTIVE_THREAD_PERCENTAGE=50" <<<"$out"

cat > spec.yaml <<'Y'
name: slurm-mix
gpu: sim
repeat: 1
stop: {duration: 0.5s}
sample_period: 100ms
modes: [timeslice, {mps: {thread_percent: 25}}]
workloads:
  - {name: a, builtin: sim-gpu, args: {duty: 0.5, sm: 0.3, step-ms: 5}}
  - {name: b, builtin: sim-gpu, args: {duty: 0.5, sm: 0.3, step-ms: 5}}
groups:
  - [a, b]
Y

# Invalid partition: Slurm's words, exit 2, nothing left running.
out=$("$colo" --results res-bad run spec.yaml --slurm --partition nosuchpart 2>&1); rc=$?
echo "$out" | tail -3
check "invalid partition: exit 2 ($rc)" test "$rc" -eq 2
check "invalid partition: Slurm's reason" grep -q "Invalid partition" <<<"$out"

# The experiment through Slurm.
out=$("$colo" --results res run spec.yaml --slurm --partition debug --time 5 2>&1); rc=$?
echo "$out"
check "colo run --slurm: exit 0 ($rc)" test "$rc" -eq 0
check "the experiment is done" grep -q "slurm-mix *done" <<<"$("$colo" --results res ls)"
check "the summary says simulated" grep -qi "simulated" <<<"$out"
# What each job asked Slurm for (scontrol keeps finished jobs MinJobAge=600 s).
gres_of() { scontrol show job -o "$1" | grep -o 'TresPerNode=[^ ]*'; }
ids=$(grep -o "submitted job [0-9]*: [^ ]* [^ ]* --gres=[^ ]*" <<<"$out")
echo "$ids"
n=0
while read -r _ _ id mode _ gres; do
  [ -n "$id" ] || continue
  id=${id%:}; gres=${gres#--gres=}; n=$((n + 1))
  check "job $id ($mode) asked for gres:$gres" grep -q "TresPerNode=gres:$gres" <<<"$(gres_of "$id")"
done <<<"$ids"
check "two jobs: solo and collocated units (got $n)" test "$n" -ge 3
check "a timeslice job asked for a whole GPU" grep -q "timeslice a+b --gres=gpu:1" <<<"$out"
check "the MPS job asked for a 50% share (2 x 25%)" grep -q "mps(tp=25) a+b --gres=mps:50" <<<"$out"

# A job cancelled outside colo: colo says so, the experiment stays resumable, resume finishes it.
sed -e 's/slurm-mix/slurm-cancel/' -e 's/duration: 0.5s/duration: 3s/' spec.yaml > cancel.yaml
"$colo" --results res2 run cancel.yaml --slurm > cancel.out 2>&1 &
pid=$!
running_job() { job=$(squeue -h -t R -n "$1" -o %i | head -1); [ -n "$job" ]; }
wait_for 120 running_job colo-slurm-cancel || { echo "no job of colo-slurm-cancel ran:"; squeue; }
scancel "$job"
wait "$pid"; rc=$?
cat cancel.out
check "cancelled outside colo: exit 1 ($rc)" test "$rc" -eq 1
check "cancelled outside colo: says so" grep -q "job $job .* ended CANCELLED (cancelled outside colo)" cancel.out
check "cancelled outside colo: resume hint" grep -q "colo run --slurm --resume" cancel.out
out=$("$colo" --results res2 run cancel.yaml --slurm --resume 2>&1); rc=$?
echo "$out" | grep -E "resuming|submitted|nothing"
check "resume after a cancelled job: exit 0 ($rc)" test "$rc" -eq 0
check "resume submits only what is not done" test "$(grep -c 'submitted job' <<<"$out")" -lt 3
check "resumed experiment is done" grep -q "slurm-cancel *done" <<<"$("$colo" --results res2 ls)"

# Ctrl-C (SIGINT) while colo follows its jobs: it scancels them, says how to resume, exit 130.
sed -e 's/slurm-mix/slurm-int/' -e 's/duration: 0.5s/duration: 3s/' spec.yaml > int.yaml
"$colo" --results res4 run int.yaml --slurm > int.out 2>&1 &
pid=$!
wait_for 120 running_job colo-slurm-int || { echo "no job of colo-slurm-int ran:"; squeue; }
kill -INT "$pid"
wait "$pid"; rc=$?
cat int.out | tail -3
check "SIGINT: exit 130 ($rc)" test "$rc" -eq 130
check "SIGINT: the jobs were cancelled" grep -q "cancelling 4 Slurm job(s)" int.out
queue_empty() { [ -z "$(squeue -h -n "$1" -o %i)" ]; }
wait_for 120 queue_empty colo-slurm-int || squeue -n colo-slurm-int
check "SIGINT: no job of the experiment left in the queue" test -z "$(squeue -h -n colo-slurm-int -o %i)"
check "SIGINT: resume hint" grep -q "colo run --slurm --resume int.yaml" int.out

# colo plan --emit slurm: a script per job, each accepted by this cluster (sbatch --test-only
# checks the gres it asks for without running it).
cat > w.yaml <<'Y'
name: plan-slurm
gpu: sim
warmup: 0.1s
stop: {duration: 0.3s}
sample_period: 100ms
workloads:
  - {name: small, builtin: sim-gpu, args: {duty: 0.4, sm: 0.3, bw: 0.1, mem: 6G, step-ms: 10}}
  - {name: large, builtin: sim-gpu, args: {duty: 0.8, sm: 0.7, bw: 0.3, mem: 50G, step-ms: 10}}
Y
cat > jobs.yaml <<'Y'
workloads: w.yaml
jobs:
  - {name: a, workload: small, kind: training}
  - {name: b, workload: small, kind: training}
  - {name: c, workload: large, kind: training}
Y
"$colo" --results res3 profile w.yaml --shares 30,100 > profile.out 2>&1
check "colo profile for the plan" test $? -eq 0
mkdir -p emitted
out=$("$colo" --results res3 plan jobs.yaml --emit slurm --emit-dir emitted 2>&1); rc=$?
echo "$out" | grep "wrote"
check "plan --emit slurm: exit 0 ($rc)" test "$rc" -eq 0
n=0
for f in emitted/*.sbatch; do
  [ -f "$f" ] || continue
  n=$((n + 1))
  check "$(basename "$f") asks for --gres=$(sed -n 's/^#SBATCH --gres=//p' "$f")" grep -q '^#SBATCH --gres=' "$f"
  check "$(basename "$f") is accepted by the cluster" sbatch --test-only "$f"
done
check "a script per job of the plan (got $n)" test "$n" -eq 3

# The controller down: a clear message.
ctld=$(cat "$SLURM_FIXTURE_DIR/slurmctld.pid")
kill "$ctld"
for _ in $(seq 50); do kill -0 "$ctld" 2>/dev/null || break; sleep 0.1; done
out=$(timeout 60 "$colo" slurm config --gpu sim --check 2>&1); rc=$?
echo "$out" | tail -1
check "controller down: exit 2 ($rc)" test "$rc" -eq 2
check "controller down: says so" grep -q "controller (slurmctld) is not reachable" <<<"$out"

echo "$fails failure(s)"
# Repeated last, where a truncated CI log still shows them.
for f in "${failed[@]}"; do echo "FAILED: $f"; done
[ "$fails" -eq 0 ]
