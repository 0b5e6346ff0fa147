#!/usr/bin/env bash
# Browser test of `colo report`: a simulated experiment's HTML report opened in headless
# Chromium (Debian's chromium). Passes when every chart div holds a rendered SVG, the page's own
# status says all charts rendered, and nothing raised an error. Leaves report.html, report.dom.html
# and report.png (a screenshot, the CI artifact) in OUT, and the same for a stored `colo sim`
# batch (sim.*). Exit 77 (skipped) without chromium.
# Usage: report_in_chromium.sh COLO_BIN_DIR OUT
set -euo pipefail
bin=$1
out=$2
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  echo "SKIPPED: chromium is not installed (scripts/install-deps.sh installs it)"
  exit 77
fi
rm -rf "$out" && mkdir -p "$out" && cd "$out"
cat > spec.yaml <<'Y'
name: browser-test
gpu: sim
repeat: 2
warmup: 0.2s
stop: {duration: 1s}
sample_period: 100ms
modes: [timeslice, mps]
sweep: {step: [4, 8]}
workloads:
  - {name: a, builtin: sim-gpu, args: {duty: 0.8, sm: 0.6, bw: 0.3, mem: 2G, step-ms: "{step}"}}
  - {name: b, builtin: sim-gpu, args: {duty: 0.5, sm: 0.3, bw: 0.6, mem: 2G, step-ms: 5}}
groups: [[a, b], [a, a], [a, b, b]]
Y
"$bin/colo" --results results run spec.yaml > run.log 2>&1
"$bin/colo" --results results report -o report.html
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
       --disable-background-networking --disable-component-update --disable-sync
       --user-data-dir="$out/profile" --virtual-time-budget=20000)
fail=0
# check PAGE MIN_CHARTS BANNER: PAGE.html rendered to PAGE.dom.html and PAGE.png.
check() {
  local page=$1 min=$2 banner=$3
  "$browser" "${flags[@]}" --enable-logging=stderr --v=0 --dump-dom "file://$out/$page.html" \
    > "$page.dom.html" 2> "$page.console.log" || true
  "$browser" "${flags[@]}" --window-size=1280,3600 --screenshot="$out/$page.png" \
    "file://$out/$page.html" > /dev/null 2>&1 || true
  local charts rendered svgs
  charts=$(grep -o 'class="chart" id="chart[0-9]*"' "$page.html" | wc -l)
  rendered=$(grep -o 'data-rendered="[0-9]*"' "$page.dom.html" | grep -o '[0-9]*' || echo 0)
  svgs=$(grep -o '<svg' "$page.dom.html" | wc -l)
  echo "$page: charts: $charts, rendered: $rendered, svg elements: $svgs"
  [ "$charts" -ge "$min" ] || { echo "FAIL: $page: expected $min charts"; fail=1; }
  [ "$rendered" = "$charts" ] || { echo "FAIL: $page: not every chart rendered"; fail=1; }
  [ "$svgs" -ge "$charts" ] || { echo "FAIL: $page: fewer SVGs than charts"; fail=1; }
  if grep -q 'data-error' "$page.dom.html"; then echo "FAIL: $page: the page reported an error"; fail=1; fi
  if grep -E 'Uncaught|CONSOLE.*[Ee]rror|CONSOLE.*WARN' "$page.console.log"; then
    echo "FAIL: $page: console errors or Vega warnings"; fail=1
  fi
  [ -s "$page.png" ] || { echo "FAIL: $page: no screenshot"; fail=1; }
  grep -q "$banner" "$page.dom.html" || { echo "FAIL: $page: no '$banner' banner"; fail=1; }
}
# 6 charts: speed-up, interference (every group, the 3-member one too), sweep, rate and
# telemetry timelines, latency.
check report 6 'SIMULATED GPU'
for want in 'Against a swept parameter' 'group' 'a+bx2' 'SM active (%)' 'seconds since start'; do
  grep -qF "$want" report.dom.html || { echo "FAIL: report: no '$want' in the rendered page"; fail=1; }
done
if grep -q 'DCGM_FI_' report.dom.html; then echo "FAIL: report: raw DCGM ids in the charts"; fail=1; fi

# A failing workload: the failure banner and "What failed" come before the tables.
cat > failing.yaml <<'Y'
name: browser-failing
gpu: sim
stop: {duration: 0.5s}
modes: [timeslice]
workloads:
  - {name: ok, builtin: sim-gpu}
  - {name: bad, cmd: [sh, -c, 'echo out of cheese >&2; exit 3'], progress: false}
groups: [[ok, bad]]
Y
"$bin/colo" --results results run failing.yaml > failing.log 2>&1 || true
"$bin/colo" --results results report -o failing.html
check failing 1 'FAILED WORKLOADS'
awk '/What failed/{f=NR} /<h2>Alone/{a=NR} END{exit !(f && a && f < a)}' <(sed 's/<h2/\n<h2/g' failing.dom.html) \
  || { echo "FAIL: failing: 'What failed' is not above the tables"; fail=1; }

# CPU-only: not "simulated", no GPU J/sample.
cat > cpu.yaml <<'Y'
name: browser-cpu
gpu: sim
stop: {duration: 0.5s}
modes: [timeslice]
workloads:
  - {name: c, builtin: cpu, copies: [2]}
Y
"$bin/colo" --results results run cpu.yaml > cpu.log 2>&1
"$bin/colo" --results results report -o cpu.html
check cpu 1 'CPU-only'
if grep -qi 'simulated' cpu.dom.html; then echo "FAIL: cpu: a CPU-only report says simulated"; fail=1; fi

# colo sim on a small trace, stored, then reported: allocation and fragmentation curves.
{
  echo "sn,cpu_milli,memory_mib,gpu,model"
  for i in $(seq 0 39); do echo "n$i,64000,262144,$((i % 3 == 0 ? 8 : 2)),$([ $((i % 2)) = 0 ] && echo V100M32 || echo T4)"; done
} > nodes.csv
{
  echo "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time"
  for i in $(seq 0 199); do
    case $((i % 4)) in
      0) g="1,$((200 + (i * 37) % 700))" ;; 1) g="1,1000" ;; 2) g="2,1000" ;; *) g="0,0" ;;
    esac
    echo "p$i,4000,8192,$g,,LS,Running,$i,$((i + 100)),$i"
  done
} > pods.csv
"$bin/colo" --results results sim --nodes nodes.csv --pods pods.csv --repeat 2 --save > sim.txt 2>&1
"$bin/colo" --results results report --sim -o sim.html
check sim 3 'Simulated cluster scheduling'
exit $fail
