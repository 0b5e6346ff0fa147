#!/usr/bin/env bash
# Browser test of `colo report`: a simulated experiment's HTML report opened in headless
# Chromium (Debian's chromium). Passes when every chart div holds a rendered SVG, the page's own
# status says all charts rendered, and nothing raised an error. Leaves report.html, dom.html and
# report.png (a screenshot, the CI artifact) in OUT. Exit 77 (skipped) without chromium.
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
workloads:
  - {name: a, builtin: sim-gpu, args: {duty: 0.8, sm: 0.6, bw: 0.3, mem: 2G, step-ms: 5}}
  - {name: b, builtin: sim-gpu, args: {duty: 0.5, sm: 0.3, bw: 0.6, mem: 2G, step-ms: 5}}
groups: [[a, b], [a, a]]
Y
"$bin/colo" --results results run spec.yaml > run.log 2>&1
"$bin/colo" --results results report -o report.html
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
       --disable-background-networking --disable-component-update --disable-sync
       --user-data-dir="$out/profile" --virtual-time-budget=20000)
"$browser" "${flags[@]}" --enable-logging=stderr --v=0 --dump-dom "file://$out/report.html" \
  > dom.html 2> console.log || true
"$browser" "${flags[@]}" --window-size=1280,3600 --screenshot="$out/report.png" \
  "file://$out/report.html" > /dev/null 2>&1 || true
charts=$(grep -o 'class="chart" id="chart[0-9]*"' report.html | wc -l)
rendered=$(grep -o 'data-rendered="[0-9]*"' dom.html | grep -o '[0-9]*' || echo 0)
svgs=$(grep -o '<svg' dom.html | wc -l)
echo "charts: $charts, rendered: $rendered, svg elements: $svgs"
fail=0
[ "$charts" -ge 5 ] || { echo "FAIL: expected 5 charts (speed-up, heatmap, 2 timelines, latency)"; fail=1; }
[ "$rendered" = "$charts" ] || { echo "FAIL: the page did not report every chart rendered"; fail=1; }
[ "$svgs" -ge "$charts" ] || { echo "FAIL: fewer SVGs than charts"; fail=1; }
if grep -q 'data-error' dom.html; then echo "FAIL: the page reported an error"; fail=1; fi
if grep -E 'Uncaught|CONSOLE.*[Ee]rror' console.log; then echo "FAIL: console errors"; fail=1; fi
[ -s report.png ] || { echo "FAIL: no screenshot"; fail=1; }
grep -q 'SIMULATED GPU' dom.html || { echo "FAIL: no simulated banner"; fail=1; }
exit $fail
