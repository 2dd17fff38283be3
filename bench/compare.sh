#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The server of another revision against this tree's, side by side in one run:
# bench/server.sh and bench/fleet.sh each run ROUNDS times with the old and the new
# otter-server taking turns (old, new, old, new, ...), everything else (wrk, nginx,
# the simulator, the agent) from this tree. Prints each run's figure lines, then
# the median of each figure per server and the ratio new/old. Used to show that a
# refactoring changed nothing measurable (issue #16); figures on a busy machine are noisy,
# taking turns spreads the noise over both.
#   bench/compare.sh OLD_REV [ROUNDS]   (default 2)
#   env SERVER_ARGS (bench/server.sh's, default "20000 10"), FLEET_ARGS (bench/fleet.sh's,
#   default "5000 10 30 256"), SKIP: "server" or "fleet" to run one script only.
set -euo pipefail
old_rev=${1:?usage: bench/compare.sh OLD_REV [ROUNDS]}
rounds=${2:-2}
top=$(cd "$(dirname "$0")/.." && pwd)
old_src=/var/tmp/otter-compare-src
old_build=/var/tmp/otter-compare-build
[ -x "$top/build/src/server/otter-server" ] || make -C "$top" build >/dev/null

# The old revision, built the way `make build` builds this tree.
rev=$(git -C "$top" rev-parse --verify "$old_rev^{commit}")
if [ "$(git -C "$old_src" rev-parse HEAD 2>/dev/null || true)" != "$rev" ]; then
  rm -rf "$old_src" "$old_build"
  git -C "$top" worktree prune
  git -C "$top" worktree add -q --detach "$old_src" "$rev"
fi
cmake -S "$old_src" -B "$old_build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOTTER_TEST_HOOKS=ON >/dev/null
cmake --build "$old_build" -j "$(nproc)" --target otter-server >/dev/null
old_server="$old_build/src/server/otter-server"
new_server="$top/build/src/server/otter-server"
echo "old: $old_rev ($(git -C "$top" log -1 --format=%h "$rev")), new: $(git -C "$top" describe --always --dirty)"

out=$(mktemp -d /var/tmp/otter-compare.XXXXXX)
trap 'rm -rf "$out"' EXIT
run() { # script which round
  local args
  if [ "$1" = server ]; then args=${SERVER_ARGS:-20000 10}; else args=${FLEET_ARGS:-5000 10 30 256}; fi
  local bin=$old_server
  [ "$2" = new ] && bin=$new_server
  echo "== bench/$1.sh $args with the $2 server (round $3)"
  # shellcheck disable=SC2086 # the script's arguments, one per word
  OTTER_SERVER=$bin bash "$top/bench/$1.sh" $args > "$out/$1.$2.$3" 2>&1 ||
    { cat "$out/$1.$2.$3"; echo "bench/$1.sh failed"; exit 1; }
  grep -E '[0-9]' "$out/$1.$2.$3" | grep -Ev '^(load average|  *#)' | sed 's/^/   /'
}
for script in server fleet; do
  [ "${SKIP:-}" = "$script" ] && continue
  for r in $(seq "$rounds"); do
    run "$script" old "$r"
    run "$script" new "$r"
  done
done

# The figures each script prints, median per server, ratio new/old.
echo "== medians over $rounds round(s), new/old"
for script in server fleet; do
  [ "${SKIP:-}" = "$script" ] && continue
  python3 - "$out" "$script" "$rounds" <<'PY'
import re, statistics, sys
out, script, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
# (label, pattern, which occurrence): the figure is the pattern's first group.
FIGURES = {
    "server": [
        ("provisioning, devices/s", r"provisioned .*, ([0-9.]+) devices/s", 0),
        ("DDI polls/s", r"^otter-server :\s+([0-9.]+) polls/s", 0),
        ("DDI poll p99 ms", r"^otter-server :\s+[0-9.]+ polls/s .*p99\s+([0-9.]+) ms", 0),
        ("server CPU % of a core (polls)", r"server CPU ([0-9.]+) %", 0),
        ("server peak RSS MiB (polls)", r"peak RSS ([0-9.]+) MiB", 0),
        ("DDI polls/s with configData writes", r"^otter-server :\s+([0-9.]+) polls/s", 1),
        ("otter/nginx polls", r"ratio otter / nginx throughput : ([0-9.]+)", 0),
        ("DDI download MB/s", r"otter-server DDI download : median\s+([0-9.]+) MB/s", 0),
        ("otter/nginx download", r"ratio of medians otter / nginx : ([0-9.]+)", 0),
    ],
    "fleet": [
        ("onboarding polls/s", r"^polls: .*polls/s: ([0-9.]+)", 0),
        ("onboarding p99 ms", r"^latency_ms: .*p99 ([0-9.]+)", 0),
        ("steady polls/s", r"^polls: .*polls/s: ([0-9.]+)", 1),
        ("steady p99 ms", r"^latency_ms: .*p99 ([0-9.]+)", 1),
        ("server CPU % (steady)", r"^server: .*cpu ([0-9.]+) %", 1),
        ("server peak RSS MiB", r"^server: .*peak rss ([0-9.]+) MiB", 1),
        ("agent install MB/s", r"otter-agent install URL .*:\s+([0-9.]+) MB/s", 0),
        ("agent / curl pipeline", r"ratio otter-agent / curl pipeline\s+:\s+([0-9.]+)", 0),
    ],
}
def figure(text, pattern, nth):
    found = [m.group(1) for m in re.finditer(pattern, text, re.M)]
    return float(found[nth]) if len(found) > nth else None
for label, pattern, nth in FIGURES[script]:
    vals = {}
    for side in ("old", "new"):
        got = []
        for r in range(1, rounds + 1):
            with open(f"{out}/{script}.{side}.{r}") as f:
                text = "\n".join(line.strip() for line in f)
            v = figure(text, pattern, nth)
            if v is not None:
                got.append(v)
        vals[side] = got
    if not vals["old"] or not vals["new"]:
        print(f"   {script}: {label}: not printed")
        continue
    o, n = statistics.median(vals["old"]), statistics.median(vals["new"])
    spread = lambda v: f"{min(v):g}-{max(v):g}" if len(v) > 1 else f"{v[0]:g}"
    ratio = f"{n / o:.3f}" if o else "-"
    print(f"   {script}: {label:36s} old {o:10g} ({spread(vals['old'])})  new {n:10g} ({spread(vals['new'])})  new/old {ratio}")
PY
done
