#!/usr/bin/env bash
# Issue 11's device cases of the fault suite, through `colo run` on a real GPU under MPS:
#   healthy  an MPS run with nothing injected: done, every workload ok, no daemon reported lost
#            (guards against false alarms of colo's daemon-loss check)
#   control  the MPS control daemon (nvidia-cuda-mps-control) killed -9 mid-run
#   server   the MPS server (nvidia-cuda-mps-server) killed -9 mid-run
#   fault    one MPS client faults (colo-cuda-work fault: an illegal address) next to a GEMM
# Each case asserts, and the script exits 1 when any assertion fails:
#   - no finished run lost or changed: every run `done` when the fault was injected has the same
#     row (every column), the same workload rows and progress rows at the end (after --resume);
#   - PRAGMA integrity_check = ok, right after the fault and at the end;
#   - the failure is recorded with a clear reason: control/server: the MPS run is `failed` with an
#     error naming the MPS daemon, or its workloads' messages name MPS; fault: the faulting
#     client is `gpu_fault`;
#   - zero processes left: no process with COLO_EXPERIMENT=<the case's experiment>, no
#     nvidia-cuda-mps-* process, no MPS pipe directory (colo's /tmp/colo-mps-<uid>/* and the
#     run directories' mps/dev*/pipe);
#   - control/server: `colo run --resume` then finishes the experiment (exit 0, every run done).
#
# Usage: bench/gpu/faults-mps.sh OUTDIR
#   COLO_BIN  directory with colo and colo-cuda-work (default: $CARRY, i.e. $PWD/.carry, the
#             device tool's habit; shared libraries the machine lacks in $COLO_BIN/lib)
# Exit: 0 all assertions held, 1 one failed, 77 skipped (no GPU, no MPS binaries, no
# colo-cuda-work, no python3). Evidence in OUTDIR: log.txt (every assertion), per case the colo
# output, the store dumps at the fault and at the end, the MPS control and server logs.
set -u
. "$(dirname "$0")/lib.sh"
gpu_setup "${1:?usage: faults-mps.sh OUTDIR}"

need_gpu_mps colo-cuda-work
command -v python3 > /dev/null || skip "no python3 (reads the store)"
{ date -u; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; "$C" --version; } \
  >> "$LOG" 2>&1
if [ "$(mps_procs)" != 0 ]; then
  skip "an MPS daemon already runs on this machine (it would be measured too): quit it first"
fi

# Python helpers over the store: dump (every done run with its workloads and progress, as
# JSON), integrity, and the facts the assertions read.
PY=$OUT/store.py
cat > "$PY" << 'EOF'
import json, sqlite3, sys
db, cmd = sys.argv[1], sys.argv[2]
con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
con.row_factory = sqlite3.Row
def rows(sql, *a):
    return [dict(r) for r in con.execute(sql, a)]
if cmd == "integrity":
    print(con.execute("PRAGMA integrity_check").fetchone()[0])
elif cmd == "dump":  # done runs, by key, with workloads and progress
    out = {}
    for r in rows("SELECT * FROM runs WHERE status = 'done' ORDER BY seq"):
        ws = rows("SELECT * FROM workloads WHERE run_id = ? ORDER BY name, copy", r["id"])
        for w in ws:
            w["progress"] = rows("SELECT * FROM progress WHERE workload_id = ? ORDER BY rowid",
                                 w["id"])
        r["workloads"] = ws
        out[r["key"]] = r
    print(json.dumps(out, sort_keys=True, default=str))
elif cmd == "mps-failure-named":  # the MPS run's failure is recorded and names MPS
    ok = False
    for r in rows("SELECT * FROM runs WHERE mode_kind = 'mps' ORDER BY seq"):
        ws = rows("SELECT * FROM workloads WHERE run_id = ?", r["id"])
        bad = [w for w in ws if w["exit_class"] != "ok"]
        if r["status"] == "failed" and "mps" in r["error"].lower():
            print(f"run {r['key']} failed: {r['error']}"); ok = True
        elif ws and len(bad) == len(ws) and all("mps" in w["message"].lower() for w in bad):
            print(f"run {r['key']}: every workload failed naming MPS"); ok = True
        else:
            print(f"run {r['key']} {r['status']} error={r['error']!r}: not named")
    sys.exit(0 if ok else 1)
elif cmd == "mps-client-fault":  # the faulting client of the MPS run is gpu_fault
    ws = rows("SELECT w.* FROM workloads w JOIN runs r ON r.id = w.run_id "
              "WHERE r.mode_kind = 'mps' AND w.name = 'faulty'")
    print([(w["exit_class"], w["message"]) for w in ws])
    sys.exit(0 if ws and all(w["exit_class"] == "gpu_fault" for w in ws) else 1)
elif cmd == "runs":  # one line a run: status, mode, error, then its workloads
    for r in rows("SELECT * FROM runs ORDER BY seq"):
        print(f"run {r['seq']} {r['status']} {r['mode']} {r['key']} error={r['error']!r}")
        for w in rows("SELECT * FROM workloads WHERE run_id = ?", r["id"]):
            print(f"  {w['name']}#{w['copy']} {w['exit_class']} {w['message']!r}")
EOF
same_done_runs() {  # same_done_runs BEFORE.json AFTER.json: every run done before is unchanged
  python3 - "$1" "$2" << 'EOF'
import json, sys
before, after = (json.load(open(p)) for p in sys.argv[1:3])
bad = [k for k in before if after.get(k) != before[k]]
print(f"{len(before)} run(s) done at the fault; changed or lost: {bad}")
sys.exit(1 if bad else 0)
EOF
}
integrity_ok() { [ "$(python3 "$PY" "$1" integrity)" = ok ]; }
# Processes of the experiment: COLO_EXPERIMENT=<name> in the environment (zombies excluded).
procs_of() {
  local n=0 p
  for p in /proc/[0-9]*; do
    [ "$(awk '{print $3}' "$p/stat" 2> /dev/null)" = Z ] && continue
    { tr '\0' '\n' < "$p/environ"; } 2> /dev/null | grep -qx "COLO_EXPERIMENT=$1" && n=$((n + 1))
  done
  echo "$n"
}
no_procs_left() {
  for _ in $(seq 1 50); do [ "$(procs_of "$1")" = 0 ] && return 0; sleep 0.2; done
  echo "processes of $1 left: $(procs_of "$1")"; return 1
}
no_mps_left() {
  for _ in $(seq 1 50); do [ "$(mps_procs)" = 0 ] && break; sleep 0.2; done
  ps -eo pid,ppid,comm,args | grep '[n]vidia-cuda-mps'
  [ "$(mps_procs)" = 0 ]
}
no_pipe_dirs() {  # no MPS pipe directory left by colo
  local left
  left=$(find "/tmp/colo-mps-$(id -u)" -mindepth 1 -maxdepth 1 2> /dev/null;
    find "$1" -path '*/mps/dev*/pipe' 2> /dev/null)
  echo "pipe dirs left: ${left:-none}"
  [ -z "$left" ]
}
# The pid of this colo's MPS control daemon or server (by executable name), or nothing.
mps_pid_of() {  # mps_pid_of COLO_PID control|server
  local p
  for p in /proc/[0-9]*; do
    case "$(readlink "$p/exe" 2> /dev/null)" in
      */nvidia-cuda-mps-$2) ;;
      *) continue ;;
    esac
    if [ "$2" = server ] || { tr '\0' '\n' < "$p/environ"; } 2> /dev/null |
      grep -qx "COLO_MPS_OWNER=$1"; then
      echo "${p#/proc/}"; return 0
    fi
  done
}
keep_mps_logs() {  # keep_mps_logs RESULTS CASE: the MPS logs of every run, for the record
  local f
  find "$1" -path '*/mps/dev*/log/*.log' 2> /dev/null | while read -r f; do
    cp "$f" "$OUT/$2.$(basename "$(dirname "$(dirname "$(dirname "$(dirname "$f")")")")").$(basename "$f")" 2> /dev/null
  done
}

# clean_after LABEL RESULTS NAME: the store is intact and nothing of the case is left running.
clean_after() {
  check "$1: integrity_check ok" integrity_ok "$2/colo.db"
  check "$1: no workload process left" no_procs_left "$3"
  check "$1: no MPS process left" no_mps_left
  check "$1: no MPS pipe directory left" no_pipe_dirs "$2"
}

# write_spec NAME BODY: a spec file in $OUT.
write_spec() { printf 'name: %s\ngpu: nvml\n%s' "$1" "$2" > "$OUT/$1.yaml"; }

# kill_case CASE WHAT(control|server): solo and timeslice runs finish, the MPS run is hit.
kill_case() {
  local case=$1 what=$2 R="$OUT/results-$1" name="faults-mps-$1"
  rm -rf "$R"
  say "== $case: kill -9 of the MPS $what mid-run"
  write_spec "$name" 'stop: {duration: 20s}
warmup: 0s
modes: [timeslice, mps]
workloads:
  - {name: gemm, builtin: cuda-gemm, args: {size: 2048, chain: 4}, copies: [2]}
'
  "$C" --results "$R" run "$OUT/$name.yaml" > "$OUT/$case.run.txt" 2>&1 &
  local colo=$! target=""
  for _ in $(seq 1 600); do  # the MPS run's process (server: once a client connected)
    target=$(mps_pid_of "$colo" "$what")
    [ -n "$target" ] && break
    kill -0 "$colo" 2> /dev/null || break
    sleep 0.5
  done
  if [ -z "$target" ]; then
    say "  FAIL  no MPS $what of colo $colo appeared"; FAILED=1; wait "$colo"; return
  fi
  sleep 5  # mid-run
  python3 "$PY" "$R/colo.db" dump > "$OUT/$case.at-fault.json"
  kill -9 "$target"
  say "  killed nvidia-cuda-mps-$what pid $target"
  wait "$colo"
  local rc=$?
  say "  colo exited $rc"
  python3 "$PY" "$R/colo.db" runs > "$OUT/$case.runs-after-fault.txt"
  cat "$OUT/$case.runs-after-fault.txt" >> "$LOG"
  keep_mps_logs "$R" "$case"
  check "$case: the failure is recorded naming MPS" python3 "$PY" "$R/colo.db" mps-failure-named
  clean_after "$case (after the fault)" "$R" "$name"
  "$C" --results "$R" run --resume "$OUT/$name.yaml" > "$OUT/$case.resume.txt" 2>&1
  rc=$?
  say "  resume exited $rc"
  python3 "$PY" "$R/colo.db" runs > "$OUT/$case.runs-final.txt"
  python3 "$PY" "$R/colo.db" dump > "$OUT/$case.final.json"
  check "$case: the resume finishes the experiment" [ "$rc" = 0 ]
  check "$case: every run done at the end" \
    bash -c "! grep -E '^run [0-9]+ (failed|pending|running|interrupted)' '$OUT/$case.runs-final.txt'"
  check "$case: no finished run lost or changed" same_done_runs \
    "$OUT/$case.at-fault.json" "$OUT/$case.final.json"
  clean_after "$case (after the resume)" "$R" "$name"
  "$C" --results "$R" show >> "$OUT/$case.resume.txt" 2>&1
}

healthy_case() {
  local R="$OUT/results-healthy" name="faults-mps-healthy"
  rm -rf "$R"
  say "== healthy: an MPS run with nothing injected"
  write_spec "$name" 'solo_baseline: false
stop: {duration: 8s}
warmup: 0s
modes: [mps]
workloads:
  - {name: gemm, builtin: cuda-gemm, args: {size: 2048, chain: 4}, copies: [2]}
'
  "$C" --results "$R" run "$OUT/$name.yaml" > "$OUT/healthy.run.txt" 2>&1
  local rc=$?
  say "  colo exited $rc"
  python3 "$PY" "$R/colo.db" runs > "$OUT/healthy.runs.txt"
  cat "$OUT/healthy.runs.txt" >> "$LOG"
  keep_mps_logs "$R" healthy
  check "healthy: exit 0" [ "$rc" = 0 ]
  check "healthy: the run is done, every workload ok" \
    bash -c "grep -q '^run 0 done' '$OUT/healthy.runs.txt' && ! grep -Eq '#[0-9]+ (failed|gpu_fault|killed|oom|start_failed|timed_out|interrupted)' '$OUT/healthy.runs.txt'"
  clean_after healthy "$R" "$name"
}

fault_case() {
  local R="$OUT/results-fault" name="faults-mps-fault"
  rm -rf "$R"
  say "== fault: one MPS client faults (illegal address) next to a GEMM"
  write_spec "$name" 'solo_baseline: false
stop: {duration: 10s}
warmup: 0s
modes: [timeslice, mps]
workloads:
  - {name: faulty, builtin: cuda-fault, args: {after: 30}}
  - {name: victim, builtin: cuda-gemm, args: {size: 2048, chain: 4}}
'
  "$C" --results "$R" run "$OUT/$name.yaml" > "$OUT/fault.run.txt" 2>&1 &
  local colo=$!
  for _ in $(seq 1 600); do  # the MPS run began: the time-sliced run is finished
    [ -n "$(mps_pid_of "$colo" control)" ] && break
    kill -0 "$colo" 2> /dev/null || break
    sleep 0.2
  done
  python3 "$PY" "$R/colo.db" dump > "$OUT/fault.at-fault.json"
  wait "$colo"
  local rc=$?
  say "  colo exited $rc"
  python3 "$PY" "$R/colo.db" runs > "$OUT/fault.runs.txt"
  python3 "$PY" "$R/colo.db" dump > "$OUT/fault.final.json"
  cat "$OUT/fault.runs.txt" >> "$LOG"
  keep_mps_logs "$R" fault
  check "fault: the faulting MPS client is gpu_fault" python3 "$PY" "$R/colo.db" mps-client-fault
  check "fault: no finished run lost or changed" same_done_runs \
    "$OUT/fault.at-fault.json" "$OUT/fault.final.json"
  clean_after fault "$R" "$name"
}

healthy_case
kill_case control control
kill_case server server
fault_case
if [ "$FAILED" = 0 ]; then say "RESULT: every assertion held"; else say "RESULT: FAILED"; fi
exit "$FAILED"
