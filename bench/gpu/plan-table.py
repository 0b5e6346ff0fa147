#!/usr/bin/env python3
"""The validation table of colo plan (docs/plan.md): one row per test mix from OUTDIR/mixN.plan.json
(the plan) and OUTDIR/mixN.plan.check.json (colo run --plan's measurements): the plan's choice,
predicted vs measured aggregate normalized throughput, the oracle (best measured candidate within
the mix's slowdown bound), the plan's share of it, and the three simple rules as measured.

usage: plan-table.py OUTDIR > validation.md"""
import glob
import json
import os
import re
import sys

RULES = ["always time-slice", "always uncapped MPS", "equal MPS caps"]
OTHERS = ["knee-proportional MPS caps", "green SM split", "MIG-equivalent caps", "MIG layout"]


def fmt(v, spec="{:.2f}"):
    return "-" if v is None else spec.format(v)


def main(out):
    rows, errors_all, errors_plan, hits, n_mixes = [], [], [], 0, 0
    simulated = False
    every = None
    for path in sorted(glob.glob(os.path.join(out, "mix*.plan.json")),
                       key=lambda p: int(re.search(r"mix(\d+)", p).group(1))):
        mix = re.search(r"mix(\d+)", path).group(1)
        plan = json.load(open(path))
        check_path = path.replace(".plan.json", ".plan.check.json")
        if not os.path.exists(check_path):
            rows.append(f"| {mix} | (not run: {os.path.basename(check_path)} missing) |||||||||")
            continue
        check = json.load(open(check_path))
        simulated = simulated or check.get("simulated", False)
        bound = plan.get("max_slowdown") or float("inf")
        cands = [r for r in check["rows"] if r.get("measured") is not None]
        # Every candidate scored was measured (--with-all), on every mix of the folder.
        every = (every is not False and all(r.get("measured") is not None for r in check["rows"])
                 and any(o in r["candidate"] for r in cands for o in OTHERS))
        for r in cands:
            errors_all.append(abs(r["predicted"] - r["measured"]) / r["measured"])
        chosen = next((r for r in cands if r["candidate"].startswith("plan")), None)
        ok = [r for r in cands if r["max_slowdown"] <= bound]
        if not any(r["candidate"].startswith("plan (one at a time)") for r in ok):
            ok.append({"candidate": "one at a time", "measured": 1.0, "max_slowdown": 1.0})
        oracle = max(ok, key=lambda r: r["measured"]) if ok else None
        g = plan["groups"][0]
        parts = ", ".join(
            j["job"] + (f" {j['thread_percent']}%" if "thread_percent" in j else "") +
            (f" {j['mig_profile']}" if "mig_profile" in j else "") +
            (f" {j['green_sms']} SMs" if "green_sms" in j else "") for j in g["jobs"])
        rule = {name: next((r["measured"] for r in cands if name in r["candidate"]), None)
                for name in RULES}
        share = None
        if chosen and oracle and oracle["measured"] > 0:
            share = chosen["measured"] / oracle["measured"]
            n_mixes += 1
            hits += share >= 0.95
        if chosen:
            errors_plan.append(abs(chosen["predicted"] - chosen["measured"]) / chosen["measured"])
        rows.append(
            f"| {mix} | {g['mechanism']} ({parts}); binding {g['binding']} | "
            f"{fmt(chosen and chosen['predicted'])} | {fmt(chosen and chosen['measured'])} | "
            f"{oracle['candidate'] if oracle else '-'} {fmt(oracle and oracle['measured'])} | "
            f"{fmt(share and 100 * share, '{:.1f}%')} | " +
            " | ".join(fmt(rule[n]) for n in RULES) + " |")
    print("# colo plan: validation" + (" (SIMULATED GPU: modelled, not measured)" if simulated
                                        else ""))
    print()
    print("Aggregate normalized throughput (sum over jobs of shared rate / solo rate; 1.00 = "
          "the jobs one at a time). Oracle: the best measured candidate within the mix's "
          "slowdown bound; candidates are " +
          ("every candidate the plan scored (`--with-all`: the plan's choice, the three rules, "
           "knee-proportional MPS caps, green and MIG-equivalent splits)" if every else
           "the plan's choice and the three rules") +
          " (each the same mode once) and one-at-a-time (1.00).")
    print()
    print("| mix | plan's choice | predicted | measured | oracle | plan / oracle | "
          "always time-slice | always uncapped MPS | equal MPS caps |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(r)
    print()
    if n_mixes:
        print(f"- plan >= 95% of the oracle on {hits}/{n_mixes} mixes")
    if errors_plan:
        print(f"- mean absolute error of the predicted aggregate, the plan's choices: "
              f"{100 * sum(errors_plan) / len(errors_plan):.1f}% ({len(errors_plan)} mixes); "
              f"every measured candidate: {100 * sum(errors_all) / len(errors_all):.1f}% "
              f"({len(errors_all)})")


def measured_speed(out, w, t):
    """Speed at t% vs 100% of workload w from any measurement of it alone in OUTDIR: the
    right-sizing checks (rightsize-W*.measured.json, 3 repetitions) and fine curves
    (fine-W.json); None where t% was not measured."""
    if t == 100:
        return 1.0
    files = sorted(glob.glob(os.path.join(out, f"rightsize-{w}.measured.json")) +
                   glob.glob(os.path.join(out, f"rightsize-{w}-*.measured.json")) +
                   glob.glob(os.path.join(out, f"fine-{w}.json")))
    for path in files:
        for prof in json.load(open(path)):
            if prof["workload"] != w:
                continue
            curve = {round(p["share"] * 100): p["throughput"] for p in prof["mps_curve"]}
            if curve.get(t) is not None and curve.get(100):
                return curve[t] / curve[100]
    return None


def rightsize(out):
    rows = []
    for path in sorted(glob.glob(os.path.join(out, "rightsize-*.json"))):
        m = re.fullmatch(r"rightsize-([^.]+)\.json", os.path.basename(path))
        if not m:
            continue
        w = m.group(1)
        answer = json.load(open(path))
        if not answer.get("mps"):
            continue
        t = answer["mps"]["thread_percent"]
        within = answer["within"]
        speed = measured_speed(out, w, t)
        holds = "-" if speed is None else ("yes" if speed >= 1 - within - 1e-9 else "NO")
        row = f"| {w} | {t}% | {answer['mps']['speed']:.3f} | {fmt(speed, '{:.3f}')} | {holds} |"
        un = answer.get("mps_unmeasured")
        if un:
            us = measured_speed(out, w, un["thread_percent"])
            row += (f" {un['thread_percent']}% ({un['interpolated_speed']:.3f}): measured "
                    f"{fmt(us, '{:.3f}')} |")
        else:
            row += " - |"
        rows.append(row)
    if rows:
        print()
        print("Right-sizing (`--right-size JOB --within 10%`, MPS answer: the smallest profiled "
              "share; measured alone at that share vs 100%, 3 repetitions; 100% holds by "
              "definition). The last column is the smaller share a straight line between "
              "profiled shares suggests, which colo reports as unmeasured, and what it measured:")
        print()
        print("| workload | answer | profiled speed | measured speed | holds (>= 0.90) | "
              "interpolated share (speed) |")
        print("|---|---|---|---|---|---|")
        for r in rows:
            print(r)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
    rightsize(sys.argv[1])
