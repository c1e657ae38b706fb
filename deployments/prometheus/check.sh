#!/usr/bin/env bash
# check.sh — validate the Prometheus files beside this script:
#   promtool check config prometheus.yml   (also checks alerts.yml, which it loads)
#   promtool check rules  alerts.yml
#   promtool test rules   alerts_test.yml  (unit tests of the alerts)
# promtool comes from $PROMTOOL, the PATH, or the cache; if absent it is taken from Debian's
# `prometheus` package WITHOUT installing it (apt-get download + dpkg-deb -x: no service, no
# user), into ${OTKLIK_CACHE:-$HOME/.cache/otklik}/bin. Needs apt (Debian); about 2 s, 19 MB.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${OTKLIK_CACHE:-$HOME/.cache/otklik}"

log() { printf '[prometheus-check] %s\n' "$*" >&2; }

find_promtool() {
	if [[ -n "${PROMTOOL:-}" && -x "$PROMTOOL" ]]; then
		echo "$PROMTOOL"
	elif command -v promtool >/dev/null 2>&1; then
		command -v promtool
	elif [[ -x "$cache/bin/promtool" ]]; then
		echo "$cache/bin/promtool"
	else
		return 1
	fi
}

fetch_promtool() {
	command -v apt-get >/dev/null 2>&1 || {
		log "promtool not found and apt-get is not available: install promtool (Prometheus) or set PROMTOOL"
		exit 1
	}
	local tmp
	tmp="$(mktemp -d)"
	# apt-get download needs package lists; refresh them only when the package is unknown.
	if ! apt-cache show prometheus >/dev/null 2>&1; then
		log "apt-get update (package lists are missing)"
		apt-get update -qq >&2
	fi
	log "fetching promtool from Debian's prometheus package"
	(cd "$tmp" && apt-get download -qq prometheus 2>/dev/null) || {
		rm -rf "$tmp"
		log "apt-get download prometheus failed"
		exit 1
	}
	dpkg-deb -x "$tmp"/prometheus_*.deb "$tmp/x"
	mkdir -p "$cache/bin"
	install -m 0755 "$tmp/x/usr/bin/promtool" "$cache/bin/promtool"
	rm -rf "$tmp"
}

promtool="$(find_promtool)" || {
	fetch_promtool
	promtool="$(find_promtool)"
}
log "using $promtool ($("$promtool" --version 2>&1 | head -n 1))"

cd "$here"
"$promtool" check config prometheus.yml
"$promtool" check rules alerts.yml
"$promtool" test rules alerts_test.yml

# The Grafana dashboard's queries must parse too: check them as recording rules.
dash="$here/../grafana/otklik-dashboard.json"
if [[ -f "$dash" ]]; then
	rules="$(mktemp --suffix=.yml)"
	trap 'rm -f "$rules"' EXIT
	python3 - "$dash" >"$rules" <<'PY'
import json, sys
panels = json.load(open(sys.argv[1]))["panels"]
exprs = [t["expr"] for p in panels for t in p.get("targets", [])]
print("groups:\n  - name: dashboard\n    rules:")
for i, e in enumerate(exprs):
    e = e.replace("$__rate_interval", "5m")
    print(f"      - record: dashboard:query{i}\n        expr: {json.dumps(e)}")
PY
	echo "Checking the queries of $(basename "$dash")"
	"$promtool" check rules "$rules"
fi
