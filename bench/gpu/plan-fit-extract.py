#!/usr/bin/env python3
"""Extracts the interference model's observations (docs/plan.md, "Model") from committed colo
stores: for every collocated run whose workloads have a solo run in the same experiment and
repetition, one row per member: its solo GPU busy fraction, SM active and DRAM active (means of
the solo run's samples after t = 2 s) and its measured speed (collocated rate / solo rate).

usage: plan-fit-extract.py STORE LABEL_PREFIX [STORE LABEL_PREFIX ...] > observations.csv
Only timeslice and uncapped mps runs are used (the committed data has no share curves, so capped
or green runs cannot be predicted from it)."""
import sqlite3
import sys

METRICS = {"DCGM_FI_DEV_GPU_UTIL": ("busy", 0.01), "DCGM_FI_PROF_SM_ACTIVE": ("sm", 1.0),
           "DCGM_FI_PROF_DRAM_ACTIVE": ("dram", 1.0)}


def solo_facts(db, exp, rep):
    facts = {}
    for run_id, grp in db.execute(
            "select id, grp from runs where experiment_id=? and repetition=? and mode='solo' "
            "and status='done'", (exp, rep)):
        thr = db.execute("select throughput from workloads where run_id=?", (run_id,)).fetchone()
        f = {"thr": thr[0]}
        for name, (key, scale) in METRICS.items():
            v = db.execute(
                "select avg(s.value) from samples s join metrics m on m.id=s.metric_id "
                "where s.run_id=? and m.name=? and s.t>2", (run_id, name)).fetchone()[0]
            f[key] = v * scale if v is not None else None
        facts[grp] = f
    return facts


def main(args):
    print("label,mechanism,member_index,gpu_busy,sm_active,dram,speed_cap,measured_speed")
    for store, prefix in zip(args[0::2], args[1::2]):
        db = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
        for exp, ename in db.execute("select id, name from experiments order by id").fetchall():
            reps = [r[0] for r in db.execute(
                "select distinct repetition from runs where experiment_id=?", (exp,))]
            for rep in reps:
                solo = solo_facts(db, exp, rep)
                for run_id, mode, grp in db.execute(
                        "select id, mode, grp from runs where experiment_id=? and repetition=? "
                        "and mode in ('timeslice','mps') and status='done' order by seq",
                        (exp, rep)).fetchall():
                    ws = db.execute("select name, throughput from workloads where run_id=? "
                                    "order by id", (run_id,)).fetchall()
                    if any(n not in solo or t is None for n, t in ws):
                        continue
                    label = f"{prefix} {ename} r{rep} {grp} {mode}"
                    for i, (name, thr) in enumerate(ws):
                        f = solo[name]
                        busy = f["busy"] if f["busy"] is not None else 1.0
                        sm = f["sm"] if f["sm"] is not None else busy
                        dram = f["dram"] if f["dram"] is not None else 0.0
                        print(f"{label},{mode},{i},{busy:.4f},{sm:.4f},{dram:.4f},1,"
                              f"{thr / f['thr']:.4f}")


if __name__ == "__main__":
    if len(sys.argv) < 3 or len(sys.argv) % 2 == 0:
        sys.exit(__doc__)
    main(sys.argv[1:])
