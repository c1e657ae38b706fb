#!/usr/bin/env bash
# ctl.sh ACTION SERVICE — control one test service, for fault-injection tests.
#   start    start it (data kept from before) and wait until healthy; prints its export line
#   stop     clean stop (SIGTERM), data kept
#   kill     crash it (SIGKILL), data kept
#   restart  stop + start
#   status   exit 0 if running and healthy, 1 otherwise (prints "up", "unhealthy" or "down")
#   log      print the path of its log file
# SERVICE: kafka, opensearch or elasticsearch. See README.md beside this file.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
	echo "usage: $0 start|stop|kill|restart|status|log kafka|opensearch|elasticsearch" >&2
	exit 2
}
(($# == 2)) || usage
action="$1"
svc="$2"
known_service "$svc" || usage

case "$action" in
start)
	start "$svc"
	export_line "$svc"
	;;
stop) stop "$svc" TERM ;;
kill) stop "$svc" KILL ;;
restart)
	stop "$svc" TERM
	start "$svc"
	export_line "$svc"
	;;
status)
	if ! running "$svc"; then
		echo down
		exit 1
	fi
	if healthy "$svc"; then
		echo up
	else
		echo unhealthy
		exit 1
	fi
	;;
log) logfile "$svc" ;;
*) usage ;;
esac
