#!/bin/sh
# Side-by-side speed of `otklik classify` and the reference ../shared/bench/naivestem
# (lowercase, split, stem every token uncached) on the same input, in one run.
#
#   classifier/bench.sh [REPEAT]      (run from anywhere inside the repository)
#   INPUT=FILE classifier/bench.sh    (any JSON Lines file with "text" fields instead)
#
# The input is the toxic dev set concatenated REPEAT times (default 5), or FILE. Both programs are
# built fresh; each is run RUNS times (default 5) alternately, and the median and best wall
# and CPU (user+sys) times of each are reported, with the ratios of the medians (the figure
# to quote) and of the best runs. Memory is the peak RSS (GNU time). The machine's load
# average is printed before and after: on a shared machine, quote a run at low load.
set -eu
REPEAT=${1:-5}
RUNS=${RUNS:-5}
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${OTKLIK_SHARED:-$root/../shared}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
src=$shared/data/toxic-2ch-pikabu/dev.jsonl
[ -f "$src" ] || { echo "bench.sh: $src not found (set OTKLIK_SHARED)" >&2; exit 1; }
if [ -n "${INPUT:-}" ]; then
	cp "$INPUT" "$tmp/in.jsonl"
else
	i=0; while [ "$i" -lt "$REPEAT" ]; do cat "$src"; i=$((i+1)); done > "$tmp/in.jsonl"
fi
(cd "$root" && go build -o "$tmp/otklik" ./cmd/otklik)
(cd "$shared/bench/naivestem" && go build -o "$tmp/naivestem" .)
echo "input: $(wc -l < "$tmp/in.jsonl") publications (${INPUT:-$REPEAT x toxic dev}), $(nproc) CPUs, load: $(cut -d' ' -f1-3 /proc/loadavg)"
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "bench.sh: needs GNU time at /usr/bin/time" >&2; exit 1; }
best() { sort -n | head -1; }
median() { sort -n | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
: > "$tmp/n.txt"; : > "$tmp/o.txt"
r=0; while [ "$r" -lt "$RUNS" ]; do
	$TIME -f "%e %U %S %M" -o "$tmp/t" "$tmp/naivestem" < "$tmp/in.jsonl" 2>/dev/null; cat "$tmp/t" >> "$tmp/n.txt"
	$TIME -f "%e %U %S %M" -o "$tmp/t" "$tmp/otklik" classify < "$tmp/in.jsonl" > "$tmp/out.jsonl"; cat "$tmp/t" >> "$tmp/o.txt"
	r=$((r+1))
done
for p in n o; do
	cut -d' ' -f1 "$tmp/$p.txt" > "$tmp/$p.wall"
	awk '{print $2+$3}' "$tmp/$p.txt" > "$tmp/$p.cpu"
done
nw=$(median < "$tmp/n.wall"); ow=$(median < "$tmp/o.wall"); nc=$(median < "$tmp/n.cpu"); oc=$(median < "$tmp/o.cpu")
nwb=$(best < "$tmp/n.wall"); owb=$(best < "$tmp/o.wall"); ncb=$(best < "$tmp/n.cpu"); ocb=$(best < "$tmp/o.cpu")
om=$(cut -d' ' -f4 "$tmp/o.txt" | sort -n | tail -1)
echo "naivestem:       median wall ${nw}s cpu ${nc}s   best wall ${nwb}s cpu ${ncb}s"
echo "otklik classify: median wall ${ow}s cpu ${oc}s   best wall ${owb}s cpu ${ocb}s   peak RSS $((om/1024)) MiB  ($(wc -l < "$tmp/out.jsonl") lines out)"
awk -v a="$nw" -v b="$ow" -v c="$nc" -v d="$oc" 'BEGIN { printf "ratio naivestem/otklik (medians): wall %.2fx, cpu %.2fx\n", a/b, c/d }'
awk -v a="$nwb" -v b="$owb" -v c="$ncb" -v d="$ocb" 'BEGIN { printf "ratio naivestem/otklik (best runs): wall %.2fx, cpu %.2fx\n", a/b, c/d }'
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
