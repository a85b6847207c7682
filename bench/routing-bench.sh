#!/usr/bin/env bash
# Routing decision cost (SPEC section 5: scoring 600 candidates p99 <= 50 us, the whole
# decision p99 <= 2 ms), measured with JMH (from Maven Central, in bench/routing-jmh, not
# part of the main build). Prints each p50/p99 and its ratio to the target and to the
# same-run reference (sorting 600 scores).
#
#   taskset -c 0 bench/routing-bench.sh               all five benchmarks (about 1 min each)
#   taskset -c 0 bench/routing-bench.sh RoutingBench -prof gc
#                                                     adds bytes allocated per decision
#   taskset -c 0 bench/routing-bench.sh 'RoutingBench.score600$' -f 3
#                                                     one benchmark, three forks (spread)
# Arguments go to JMH as they are. Builds target/gpud.jar first when a source is newer.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/java.sh
# (Re)build the daemon jar when it is missing or older than any main source.
if [[ ! -f target/gpud.jar ]] || [[ -n "$(find src/main pom.xml -newer target/gpud.jar -print -quit)" ]]; then
  ./mvnw -B -q -DskipTests package
fi
./mvnw -B -q -f bench/routing-jmh/pom.xml package dependency:build-classpath -Dmdep.outputFile=target/cp.txt
cp="bench/routing-jmh/target/classes:$(cat bench/routing-jmh/target/cp.txt)"
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
"$java" -cp "$cp" org.openjdk.jmh.Main -rf json -rff "$out" "${@:-RoutingBench}"
python3 - "$out" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))
runs = {r["benchmark"].rsplit(".", 1)[1]: r["primaryMetric"] for r in results}
alloc = {r["benchmark"].rsplit(".", 1)[1]: r["secondaryMetrics"]["gc.alloc.rate.norm"]["score"]
         for r in results if "gc.alloc.rate.norm" in r.get("secondaryMetrics", {})}
targets = {"score600": 50.0, "score600Cached": 50.0, "decision600": 2000.0}
ref = runs.get("referenceSort600", {}).get("scorePercentiles", {}).get("99.0")
print()
print(f"{'benchmark':<24} {'p50 us':>9} {'p99 us':>9} {'target us':>10} {'p99/target':>11} "
      f"{'p99/reference':>14} {'bytes/op':>9}")
for name, m in runs.items():
    p = m["scorePercentiles"]
    t = targets.get(name)
    a = f"{alloc[name]:9.0f}" if name in alloc else f"{'-':>9}"
    print(f"{name:<24} {p['50.0']:9.2f} {p['99.0']:9.2f} {t if t else '-':>10} "
          f"{(p['99.0'] / t if t else float('nan')):11.3f} {(p['99.0'] / ref if ref else float('nan')):14.2f} {a}")
PY
