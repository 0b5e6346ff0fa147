#!/usr/bin/env python3
"""The load driver and table of bench/gpu/serve-scale.sh (issue 15's scaling benchmark).

  serve-scale.py measure --url URL --function F --mode M --ks 1,2,4,8 --n N --input JSON
                         --budget S --out DIR [--label measured|SIMULATED]
      For each K: resize F's pool to K workers (PUT /v1/functions/F/pool), warm it (every one of
      the K workers has answered an untimed task), then submit N tasks in one /v1/batch and wait
      for all; appends one row per K to DIR/serve-scale.csv and keeps the tasks' views in
      DIR/tasks/F-M-K<K>.json. A K step that would not fit in what is left of --budget seconds
      (judged from the previous step's duration) is cut and the cut is said. Exit 0 every K done,
      3 cut, 1 error (the message names it).
  serve-scale.py table DIR
      DIR/serve-scale.md from DIR/serve-scale.csv (and DIR/host.txt, DIR/notes.txt): per function
      and mode, throughput and mean completion time against K=1, and the published targets met or
      NOT met.

Times come from the daemon's task views: one /v1/batch call queues all N tasks at one instant of
the daemon's clock, so a task's total_s is its completion time (submission to finish, queueing
included, as the Parsl study measures), total_s - queued_s its service time (its last attempt's
start to finish), and the largest total_s the makespan (first submission to last finish).
p50/p99 are of the completion time. client_wall_s (the client's batch call to its last result)
is kept as a cross-check.
"""
import argparse
import csv
import json
import math
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "workloads", "python"))
from colo_serve import Client  # noqa: E402

COLUMNS = ["function", "mode", "K", "N", "makespan_s", "throughput", "mean_completion_s",
           "mean_service_s", "p50", "p99", "succeeded", "client_wall_s", "mean_function_s",
           "label"]
# The published anchor (SC'23 workshop study of Parsl/Globus Compute workers on MPS and MIG):
# several warm workers per GPU, up to 60% lower task completion time, about 2.5x LLM throughput.
TARGET_COMPLETION_REDUCTION = 0.60
TARGET_LLM_THROUGHPUT = 2.5
LLM_FUNCTIONS = ("gpt",)


class Cut(Exception):
    pass


def say(*args):
    print(*args, flush=True)


def percentile(sorted_values, p):
    """Nearest-rank percentile of a sorted non-empty list."""
    k = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[k - 1]


def wait_all(client, ids, deadline):
    """The views of `ids`, waiting until all have finished; TimeoutError past `deadline`."""
    views = {}
    while True:
        pending = [i for i in ids if i not in views]
        if not pending:
            return [views[i] for i in ids]
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"{len(pending)} of {len(ids)} task(s) unfinished at the deadline")
        for start in range(0, len(pending), 1000):
            chunk = pending[start:start + 1000]
            for v in client.results(chunk, wait_s=max(1, min(30, int(left)))):
                if v["state"] not in ("queued", "running"):
                    views[v["id"]] = v


def pool_alive(client, function):
    for f in client.functions():
        if f.get("name") == function:
            return f.get("pool", f).get("alive", 0)
    raise RuntimeError(f"no function '{function}' in /v1/functions")


def warm(client, function, k, task_input, deadline):
    """Until each of the k workers has answered a task: the workers' pids when the function
    reports them (result "pid"), else 2k tasks after all k are alive. Raises on a failed task."""
    while pool_alive(client, function) < k:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the pool did not reach {k} live worker(s)")
        time.sleep(0.1)
    seen = set()
    rounds = 0
    while len(seen) < k:
        rounds += 1
        ids = client.submit_batch(function, [task_input] * k, timeout_s=600)
        for v in wait_all(client, ids, deadline):
            if v["state"] != "succeeded":
                raise RuntimeError(f"a warm-up task {v['state']}: {v.get('error', '')}")
            result = v.get("result")
            if not isinstance(result, dict) or "pid" not in result:
                ids = client.submit_batch(function, [task_input] * k, timeout_s=600)
                wait_all(client, ids, deadline)
                return rounds + 1
            seen.add(result["pid"])
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(seen)} of {k} worker(s) warm at the deadline")
    return rounds


def timed_batch(client, function, n, task_input, deadline):
    t0 = time.monotonic()
    ids = client.submit_batch(function, [task_input] * n, timeout_s=600)
    views = wait_all(client, ids, deadline)
    return views, time.monotonic() - t0


def row(function, mode, k, n, views, wall, label):
    ok = [v for v in views if v["state"] == "succeeded"]
    completion = sorted(v["total_s"] for v in ok)
    service = [v["total_s"] - v["queued_s"] for v in ok]
    fn_s = [v["result"]["seconds"] for v in ok
            if isinstance(v.get("result"), dict) and "seconds" in v["result"]]
    fn_s = fn_s or [v["result"]["gpu_s"] for v in ok
                    if isinstance(v.get("result"), dict) and "gpu_s" in v["result"]]
    makespan = max((v["total_s"] for v in views), default=0.0)
    return {
        "function": function, "mode": mode, "K": k, "N": n,
        "makespan_s": f"{makespan:.6f}",
        "throughput": f"{len(ok) / makespan:.4f}" if makespan > 0 else "",
        "mean_completion_s": f"{sum(completion) / len(ok):.6f}" if ok else "",
        "mean_service_s": f"{sum(service) / len(ok):.6f}" if ok else "",
        "p50": f"{percentile(completion, 50):.6f}" if ok else "",
        "p99": f"{percentile(completion, 99):.6f}" if ok else "",
        "succeeded": len(ok), "client_wall_s": f"{wall:.6f}",
        "mean_function_s": f"{sum(fn_s) / len(fn_s):.6f}" if fn_s else "",
        "label": label,
    }


def append_csv(path, r):
    new = not os.path.exists(path) or os.path.getsize(path) == 0
    with open(path, "a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        if new:
            w.writeheader()
        w.writerow(r)


def measure(a):
    start = time.monotonic()
    deadline = start + a.budget
    client = Client(a.url, timeout=90)
    task_input = json.loads(a.input)
    os.makedirs(os.path.join(a.out, "tasks"), exist_ok=True)
    csv_path = os.path.join(a.out, "serve-scale.csv")
    tag = f"{a.function} {a.mode}"
    last_step = 0.0
    for k in [int(x) for x in a.ks.split(",")]:
        step_start = time.monotonic()
        left = deadline - step_start
        if last_step and left < 1.3 * last_step + 5:
            raise Cut(f"{tag}: K={k} and beyond cut: {left:.0f} s of the section's {a.budget:.0f} s "
                      f"left, the previous K took {last_step:.0f} s")
        client.resize(a.function, workers=k)
        t_resized = time.monotonic()
        rounds = warm(client, a.function, k, task_input, deadline)
        t_warm = time.monotonic()
        views, wall = timed_batch(client, a.function, a.n, task_input, deadline)
        with open(os.path.join(a.out, "tasks", f"{a.function}-{a.mode}-K{k}.json"), "w") as f:
            json.dump(views, f)
        r = row(a.function, a.mode, k, a.n, views, wall, a.label)
        append_csv(csv_path, r)
        last_step = time.monotonic() - step_start
        bad = sorted({f"{v['state']}: {v.get('error', '')}" for v in views
                      if v["state"] != "succeeded"})
        say(f"  {tag} K={k}: resize {t_resized - step_start:.1f} s, warm {t_warm - t_resized:.1f} s"
            f" ({rounds} round(s)), {r['succeeded']}/{a.n} ok, makespan {float(r['makespan_s']):.3f}"
            f" s, {r['throughput'] or '-'} tasks/s, mean completion {r['mean_completion_s'] or '-'}"
            f" s, service {r['mean_service_s'] or '-'} s; step {last_step:.1f} s, section "
            f"{time.monotonic() - start:.1f} s" + (f"; FAILED tasks: {bad[:3]}" if bad else ""))
    return 0


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def fnum(s):
    return float(s) if s not in ("", None) else None


def table(d):
    rows = read_rows(os.path.join(d, "serve-scale.csv"))
    simulated = any(r["label"] == "SIMULATED" for r in rows)
    out = ["# colo serve: warm workers per GPU vs K = 1 (issue 15)" +
           (" -- SIMULATED" if simulated else ""), ""]
    if simulated:
        out += ["**SIMULATED**: no GPU; every function is a worker sleeping a fixed time per task "
                "(serve-scale.sh SIM=1). This exercises the procedure, it measures nothing about "
                "GPUs.", ""]
    out += ["Generated by bench/gpu/serve-scale.py from serve-scale.csv. Per K: N tasks in one "
            "`/v1/batch` on a warm pool of K workers. Completion = submission to finish (queueing "
            "included), service = start to finish, both from the daemon's task views; "
            "throughput = succeeded tasks / makespan; p50/p99 of completion.", ""]
    host = os.path.join(d, "host.txt")
    if os.path.exists(host):
        out += ["Host:", "", "```", open(host).read().rstrip(), "```", ""]
    keys = []
    for r in rows:
        if (r["function"], r["mode"]) not in keys:
            keys.append((r["function"], r["mode"]))
    verdicts = []
    for function in dict.fromkeys(k[0] for k in keys):
        out += [f"## {function}", "",
                "| mode | K | N | ok | makespan s | tasks/s | vs K=1 | mean completion s | "
                "vs K=1 | mean service s | p50 s | p99 s | fn s |",
                "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for mode in [m for f, m in keys if f == function]:
            rs = [r for r in rows if r["function"] == function and r["mode"] == mode]
            base = next((r for r in rs if r["K"] == "1"), None)
            b_tp = fnum(base["throughput"]) if base else None
            b_c = fnum(base["mean_completion_s"]) if base else None
            best_tp = best_red = None
            for r in rs:
                tp, c = fnum(r["throughput"]), fnum(r["mean_completion_s"])
                ratio = tp / b_tp if tp and b_tp and r["K"] != "1" else None
                red = 1 - c / b_c if c and b_c and r["K"] != "1" else None
                if ratio is not None:
                    best_tp = max(best_tp or (0, 0), (ratio, int(r["K"])))
                if red is not None:
                    best_red = max(best_red or (-1e9, 0), (red, int(r["K"])))

                def f3(s):
                    v = fnum(s)
                    return "-" if v is None else f"{v:.3f}"
                out.append(
                    f"| {mode} | {r['K']} | {r['N']} | {r['succeeded']} | {f3(r['makespan_s'])} | "
                    f"{'-' if tp is None else f'{tp:.2f}'} | "
                    f"{'-' if ratio is None else f'{ratio:.2f}x'} | {f3(r['mean_completion_s'])} | "
                    f"{'-' if red is None else f'{-red * 100:+.0f}%'} | {f3(r['mean_service_s'])} |"
                    f" {f3(r['p50'])} | {f3(r['p99'])} | {f3(r['mean_function_s'])} |")
            verdicts.append((function, mode, best_tp, best_red))
        out.append("")
    out += ["## Against the published targets", "",
            f"Anchor: a SC'23-workshop study of Parsl/Globus Compute workers on MPS and MIG: several "
            f"warm workers per GPU gave up to {TARGET_COMPLETION_REDUCTION:.0%} lower task "
            f"completion time and about {TARGET_LLM_THROUGHPUT}x LLM inference throughput. Here: "
            f"the best K > 1 against K = 1 (completion-time target for every function, throughput "
            f"target for the LLM function, {', '.join(LLM_FUNCTIONS)}).", "",
            "| function | mode | best throughput vs K=1 | best completion reduction | "
            "completion >= 60% lower | LLM throughput >= 2.5x |", "|---|---|---|---|---|---|"]
    for function, mode, best_tp, best_red in verdicts:
        tp_s = "no data" if best_tp is None else f"{best_tp[0]:.2f}x (K={best_tp[1]})"
        red_s = "no data" if best_red is None else f"{best_red[0]:.0%} (K={best_red[1]})"
        c_ok = ("no data" if best_red is None else
                "met" if best_red[0] >= TARGET_COMPLETION_REDUCTION else "NOT met")
        if function in LLM_FUNCTIONS:
            t_ok = ("no data" if best_tp is None else
                    "met" if best_tp[0] >= TARGET_LLM_THROUGHPUT else "NOT met")
        else:
            t_ok = "n/a"
        label = " (SIMULATED)" if simulated else ""
        out.append(f"| {function} | {mode} | {tp_s} | {red_s} | {c_ok}{label} | {t_ok}"
                   f"{label if t_ok != 'n/a' else ''} |")
    notes = os.path.join(d, "notes.txt")
    if os.path.exists(notes) and os.path.getsize(notes):
        out += ["", "## Notes (cut or failed sections)", "", "```", open(notes).read().rstrip(),
                "```"]
    with open(os.path.join(d, "serve-scale.md"), "w") as f:
        f.write("\n".join(out) + "\n")
    return 0


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("measure")
    m.add_argument("--url", required=True)
    m.add_argument("--function", required=True)
    m.add_argument("--mode", required=True)
    m.add_argument("--ks", default="1,2,4,8")
    m.add_argument("--n", type=int, required=True)
    m.add_argument("--input", default="null")
    m.add_argument("--budget", type=float, required=True)
    m.add_argument("--out", required=True)
    m.add_argument("--label", default="measured")
    t = sub.add_parser("table")
    t.add_argument("dir")
    a = ap.parse_args(argv)
    if a.cmd == "table":
        return table(a.dir)
    try:
        return measure(a)
    except Cut as e:
        say(f"  CUT: {e}")
        return 3
    except Exception as e:  # noqa: BLE001 - the section's error, named for the log
        say(f"  ERROR: {a.function} {a.mode}: {type(e).__name__}: {e}")
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
