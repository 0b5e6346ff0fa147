#!/usr/bin/env bash
# colo plan's validation again under the current model, without a GPU (docs/plan.md): for each
# mix of a validation folder, the plan made now from the same profiles (`colo plan --gpu-model
# H200 --count 1 --with-all`), checked against the runs already in that folder's stores
# (`colo run --plan --recheck`). A candidate the new plan emits that was never run shows "-".
#
#   COLO=build/dev/bin/colo bench/gpu/plan-recheck.sh FOLDER OUTDIR MIX...
# FOLDER: a results folder with stores.tgz (mixN/colo.db, profiles imported) and the mixes'
# jobs files in bench/specs; OUTDIR gets mixN.plan.json, mixN.plan.check.json, mixN.txt.
set -eu
folder=${1:?usage: plan-recheck.sh FOLDER OUTDIR MIX...}
outdir=${2:?usage: plan-recheck.sh FOLDER OUTDIR MIX...}
shift 2
here=$(cd "$(dirname "$0")" && pwd)
C=${COLO:-colo}
tmp=$(mktemp -d /tmp/colo-recheck.XXXX)
trap 'rm -rf "$tmp"' EXIT
tar xzf "$folder/stores.tgz" -C "$tmp"
mkdir -p "$outdir"
for m in "$@"; do
  d=$tmp/mix$m
  [ -d "$d" ] || d=$(find "$tmp" -maxdepth 2 -type d -name "mix$m" | head -1)
  {
    "$C" --results "$d" plan "$here/../specs/h200-plan-mix$m.jobs.yaml" --gpu-model H200 \
      --count 1 --with-all -o "$outdir/mix$m.plan.json"
    # The mix ran on the GPU its first plan named: the new plan's group takes that GPU's index
    # (its experiment's name ends in -gpuN).
    python3 - "$folder/mix$m.plan.json" "$outdir/mix$m.plan.json" <<'PY'
import json, sys
old, new = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
g = old["groups"][0]["gpu"]
new["groups"][0]["gpu"] = g
s = new["specs"][0]
s["yaml"] = s["yaml"].replace(f"{s['name']}\n", f"{s['name'][:-1]}{g}\n").replace(
    "gpus:\n  - 0\n", f"gpus:\n  - {g}\n")
s["name"], s["gpu"] = s["name"][:-1] + str(g), g
json.dump(new, open(sys.argv[2], "w"), indent=2)
PY
    "$C" --results "$d" run --plan "$outdir/mix$m.plan.json" --recheck
  } > "$outdir/mix$m.txt" 2>&1 || { echo "mix $m failed: $outdir/mix$m.txt"; exit 1; }
done
