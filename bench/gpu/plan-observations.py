#!/usr/bin/env python3
"""Observations for colo plan's model fit (docs/plan.md, "Model"): every uncapped-MPS and
time-sliced group measured by a plan validation, as rows of the model's CSV
(label,mechanism,member_index,gpu_busy,sm_active,dram,speed_cap,measured_speed,sm_occupancy).
A member's demands are its workload's solo profile (profiles.json); its measured speed is its mean
shared rate over the repetitions / its mean solo rate of the same repetition, from the mix's
store (`colo export`). Capped groups (MPS limits, MIG-equivalent) are left out: their speed cap
comes from the profile's curve, not from the model.

usage: COLO=build/dev/bin/colo plan-observations.py PROFILES.json SPECS_DIR FOLDER:MIX[,MIX...]...
  FOLDER: a results folder whose stores.tgz holds mixN/colo.db"""
import csv
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from statistics import mean


def jobs_of(specs, m):
    out = {}
    for line in open(os.path.join(specs, f"h200-plan-mix{m}.jobs.yaml")):
        r = re.search(r"name: ([\w-]+), workload: ([\w-]+)", line)
        if r:
            out[r.group(1)] = r.group(2)
    return out


def main(profiles, specs, folders):
    colo = os.environ.get("COLO", "colo")
    prof = {p["workload"]: p for p in json.load(open(profiles))}
    w = csv.writer(sys.stdout, lineterminator="\n")
    w.writerow(["label", "mechanism", "member_index", "gpu_busy", "sm_active", "dram",
                "speed_cap", "measured_speed", "sm_occupancy"])
    for arg in folders:
        folder, mixes = arg.split(":")
        with tempfile.TemporaryDirectory() as tmp:
            with tarfile.open(os.path.join(folder, "stores.tgz")) as t:
                t.extractall(tmp)
            for m in mixes.split(","):
                db = os.path.join(tmp, f"mix{m}")
                text = subprocess.run([colo, "--results", db, "export", "--format", "csv"],
                                      capture_output=True, text=True, check=True).stdout
                runs = list(csv.DictReader(io.StringIO(text)))
                solo = {}
                for r in runs:
                    if r["mode"] == "solo" and r["throughput"]:
                        solo.setdefault((r["repetition"], r["workload"]), []).append(
                            float(r["throughput"]))
                groups = {}
                for r in runs:
                    if r["mode"] not in ("mps", "timeslice") or not r["throughput"]:
                        continue
                    base = mean(solo[(r["repetition"], r["workload"])])
                    groups.setdefault((r["mode"], r["group"]), {}).setdefault(
                        r["workload"], []).append(float(r["throughput"]) / base)
                jobs = jobs_of(specs, m)
                tag = os.path.basename(os.path.normpath(folder)).replace("-h200-plan", "")
                for (mode, group), members in sorted(groups.items()):
                    for i, (job, speeds) in enumerate(members.items()):
                        p = prof[jobs[job]]
                        w.writerow([f"h200 {tag} mix{m} {group} {mode}", mode, i,
                                    f"{p['gpu_util']:.4f}", f"{p['sm_active']:.4f}",
                                    f"{p['dram_active']:.4f}", 1, f"{mean(speeds):.4f}",
                                    f"{p['sm_occupancy']:.4f}"])


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
