#!/usr/bin/env bash
# up.sh [SERVICE...] — fetch (cached) and start the Otklik test services on loopback, without
# Docker: Kafka 4.x KRaft on 127.0.0.1:9092, OpenSearch 2.x on 127.0.0.1:9200 and, optionally,
# Elasticsearch 8.x on 127.0.0.1:9201. SERVICE is kafka, opensearch or elasticsearch (default:
# $OTKLIK_SERVICES or all three). Kafka and OpenSearch are required: if one does not come up,
# up.sh prints its log tail and exits 1. Elasticsearch is optional (required only with
# OTKLIK_REQUIRE_ELASTICSEARCH=1): if it fails, a warning is printed and its export line omitted.
#
# stdout carries only `export …` lines for the services that are up, so use it as
#   eval "$(deployments/services/up.sh)"
# Progress and errors go to stderr. Idempotent: running services are left alone.
# See README.md beside this file.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if (($# > 0)); then
	services=("$@")
else
	read -r -a services <<<"${OTKLIK_SERVICES:-kafka opensearch elasticsearch}"
fi
for s in "${services[@]}"; do
	known_service "$s" || die "unknown service '$s' (want kafka, opensearch or elasticsearch)"
done

required() {
	[[ "$1" != elasticsearch || "${OTKLIK_REQUIRE_ELASTICSEARCH:-0}" == 1 ]]
}

t0=$SECONDS
mkdir -p "$SDIR"
# Fetch sequentially (one Maven local repository), then launch everything, then wait: the JVMs
# start up concurrently.
find_java
for s in "${services[@]}"; do
	fetch "$s"
done
log "fetch done in $((SECONDS - t0))s (cache $CACHE)"

failed=()
up=()
launched=()
for s in "${services[@]}"; do
	if running "$s"; then
		log "$s already running (pid $(cat "$(pidfile "$s")"))"
	elif launch "$s"; then
		launched+=("$s")
	else
		failed+=("$s")
	fi
done
for s in "${services[@]}"; do
	if [[ " ${failed[*]} " == *" $s "* ]]; then
		continue
	fi
	if wait_healthy "$s"; then
		up+=("$s")
	else
		failed+=("$s")
	fi
done

rc=0
for s in "${failed[@]}"; do
	if required "$s"; then
		log "ERROR: required service $s did not come up (log: $(logfile "$s"))"
		rc=1
	else
		log "WARNING: optional service $s did not come up (log: $(logfile "$s")); continuing without it"
		stop "$s" >/dev/null 2>&1 || true
	fi
done
if ((rc != 0)); then
	# leave nothing half-started behind
	for s in "${launched[@]}"; do
		stop "$s" >/dev/null 2>&1 || true
	done
	exit "$rc"
fi

for s in "${up[@]}"; do
	export_line "$s"
done
echo "export OTKLIK_TEST_SERVICES_CTL=$SERVICES_SRC/ctl.sh"
log "up: ${up[*]} in $((SECONDS - t0))s (data and logs under $SDIR)"
