#!/usr/bin/env bash
# CPU cost of the simulator's loss scenario (N=600, 10% loss) against a reference commit,
# measured in the same run: the reference and this tree alternate, each pinned to one core,
# at two simulated lengths, so that the difference is the cost of simulated time alone
# (the 600-node join both pay once drops out). Prints user CPU seconds per run, the cost
# per simulated hour of each, their ratio, and whether the two printed the same results
# (the simulation is deterministic per seed: an optimization must not change a number).
#
#   bench/membership-sim-cost.sh [REF] [SEED] [REPEATS]     (defaults: HEAD~1 1 1)
#   CORE=0 LONG_H=0.1 SHORT_H=0.02 JAVA_FLAGS="-XX:+UseTransparentHugePages" bench/membership-sim-cost.sh d767e55
#
# JAVA_FLAGS apply to this tree's runs only (the reference runs as plain -Xmx4g), so a
# flag's share of the gain can be told apart from the code's.
set -euo pipefail
cd "$(dirname "$0")/.."
REF=${1:-HEAD~1}
SEED=${2:-1}
REPEATS=${3:-1}
CORE=${CORE:-0}
LONG_H=${LONG_H:-0.1}
SHORT_H=${SHORT_H:-0.02}
JAVA_FLAGS=${JAVA_FLAGS:-}
source bench/java.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/ref"
git archive "$REF" | tar -x -C "$work/ref"
deps="dependency:build-classpath -Dmdep.includeScope=runtime -Dmdep.outputFile=target/runtime-classpath.txt"
# shellcheck disable=SC2086
./mvnw -B -q -o -DskipTests test-compile $deps
# shellcheck disable=SC2086
(cd "$work/ref" && ./mvnw -B -q -o -DskipTests test-compile $deps)

# run NAME CLASSPATH HOURS [JVM flags...]: prints user seconds; the output goes to $work/NAME
run() {
  local name=$1 cp=$2 hours=$3
  shift 3
  /usr/bin/time -f "%U" -o "$work/$name.cpu" taskset -c "$CORE" "$java" \
    -XX:ActiveProcessorCount=1 -Xmx4g "$@" -cp "$cp" io.gpud.membership.MembershipSimulationReport \
    --loss-only --hours "$hours" --seed "$SEED" > "$work/$name.out"
  cat "$work/$name.cpu"
}

results() {
  grep -E "healthy declared dead|suspicions|kbit/s" "$1" | sed -E 's/ +[0-9.]+$//'
}

new_cp="target/classes:target/test-classes:$(cat target/runtime-classpath.txt)"
ref_cp="$work/ref/target/classes:$work/ref/target/test-classes:$(cat "$work/ref/target/runtime-classpath.txt")"
printf "%-7s %-6s %10s %10s %12s %12s %8s %s\n" repeat hours "ref s" "new s" "ref s/h" "new s/h" ratio same
for r in $(seq 1 "$REPEATS"); do
  declare -A cpu=()
  for h in "$LONG_H" "$SHORT_H"; do
    cpu[ref$h]=$(run "ref-$r-$h" "$ref_cp" "$h")
    # shellcheck disable=SC2086
    cpu[new$h]=$(run "new-$r-$h" "$new_cp" "$h" $JAVA_FLAGS)
    same=yes
    diff <(results "$work/ref-$r-$h.out") <(results "$work/new-$r-$h.out") >/dev/null || same=NO
    printf "%-7s %-6s %10s %10s %12s %12s %8s %s\n" "$r" "$h" "${cpu[ref$h]}" "${cpu[new$h]}" "" "" "" "$same"
  done
  awk -v r="$r" -v rl="${cpu[ref$LONG_H]}" -v rs="${cpu[ref$SHORT_H]}" -v nl="${cpu[new$LONG_H]}" \
      -v ns="${cpu[new$SHORT_H]}" -v lh="$LONG_H" -v sh="$SHORT_H" 'BEGIN {
    rph = (rl - rs) / (lh - sh); nph = (nl - ns) / (lh - sh);
    printf "%-7s %-6s %10s %10s %12.0f %12.0f %8.2f\n", r, "slope", "", "", rph, nph, rph / nph }'
done
echo "results of the last long run (this tree):"
results "$work/new-$REPEATS-$LONG_H.out"
