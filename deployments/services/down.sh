#!/usr/bin/env bash
# down.sh [--purge] [SERVICE...] — stop the test services started by up.sh (SIGTERM, then SIGKILL
# after 30 s). Idempotent. --purge also deletes their data and logs ($OTKLIK_SERVICES_DIR).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

purge=0
if [[ "${1:-}" == --purge ]]; then
	purge=1
	shift
fi
if (($# > 0)); then
	services=("$@")
else
	services=(elasticsearch opensearch kafka)
fi
for s in "${services[@]}"; do
	known_service "$s" || die "unknown service '$s' (want kafka, opensearch or elasticsearch)"
	stop "$s"
	if ((purge)); then
		rm -rf "${SDIR:?}/$s"
		log "$s: data and logs removed"
	fi
done
