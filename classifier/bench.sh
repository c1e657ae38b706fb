#!/bin/sh
# Side-by-side speed of `otklik classify` and the reference ../shared/bench/naivestem
# (lowercase, split, stem every token uncached) on the same input, in one run.
#
#   classifier/bench.sh [REPEAT]      (run from anywhere inside the repository)
#
# The input is the toxic dev set concatenated REPEAT times (default 5). Both programs are
# built fresh; each is run RUNS times (default 3) alternately, and the best wall time and
# the CPU time of each are reported, with the ratio. Memory is the peak RSS (GNU time).
set -eu
REPEAT=${1:-5}
RUNS=${RUNS:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${OTKLIK_SHARED:-$root/../shared}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
src=$shared/data/toxic-2ch-pikabu/dev.jsonl
[ -f "$src" ] || { echo "bench.sh: $src not found (set OTKLIK_SHARED)" >&2; exit 1; }
i=0; while [ "$i" -lt "$REPEAT" ]; do cat "$src"; i=$((i+1)); done > "$tmp/in.jsonl"
(cd "$root" && go build -o "$tmp/otklik" ./cmd/otklik)
(cd "$shared/bench/naivestem" && go build -o "$tmp/naivestem" .)
echo "input: $(wc -l < "$tmp/in.jsonl") publications ($REPEAT x toxic dev), $(nproc) CPUs, load: $(cut -d' ' -f1-3 /proc/loadavg)"
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "bench.sh: needs GNU time at /usr/bin/time" >&2; exit 1; }
best() { sort -n | head -1; }
: > "$tmp/n.txt"; : > "$tmp/o.txt"
r=0; while [ "$r" -lt "$RUNS" ]; do
	$TIME -f "%e %U %S %M" -o "$tmp/t" "$tmp/naivestem" < "$tmp/in.jsonl" 2>/dev/null; cat "$tmp/t" >> "$tmp/n.txt"
	$TIME -f "%e %U %S %M" -o "$tmp/t" "$tmp/otklik" classify < "$tmp/in.jsonl" > "$tmp/out.jsonl"; cat "$tmp/t" >> "$tmp/o.txt"
	r=$((r+1))
done
nw=$(cut -d' ' -f1 "$tmp/n.txt" | best); ow=$(cut -d' ' -f1 "$tmp/o.txt" | best)
nc=$(awk '{print $2+$3}' "$tmp/n.txt" | best); oc=$(awk '{print $2+$3}' "$tmp/o.txt" | best)
om=$(cut -d' ' -f4 "$tmp/o.txt" | sort -n | tail -1)
echo "naivestem:       wall ${nw}s  cpu ${nc}s"
echo "otklik classify: wall ${ow}s  cpu ${oc}s  peak RSS $((om/1024)) MiB  ($(wc -l < "$tmp/out.jsonl") lines out)"
awk -v a="$nw" -v b="$ow" -v c="$nc" -v d="$oc" 'BEGIN { printf "ratio naivestem/otklik: wall %.2fx, cpu %.2fx\n", a/b, c/d }'
