# shellcheck shell=bash
# Shared functions of up.sh, down.sh and ctl.sh: fetch (Maven Central, cached), start, stop and
# health-check the test services (Kafka KRaft, OpenSearch 2.x, optional Elasticsearch 8) on
# loopback, without Docker. Sourced, never executed. Progress goes to stderr; only up.sh prints
# `export` lines on stdout.
#
# Environment (all optional):
#   OTKLIK_CACHE          cache of fetched jars             (default $HOME/.cache/otklik)
#   OTKLIK_SERVICES_DIR   data, logs and pid files          (default ${TMPDIR:-/tmp}/otklik-services)
#   OTKLIK_JAVA_HOME      JDK used to run the servers       (default /usr/lib/jvm/java-17-openjdk-amd64)
#   OTKLIK_KAFKA_PORT     broker port (controller is +1)    (default 9092)
#   OTKLIK_OPENSEARCH_PORT  HTTP port (transport is +100)   (default 9200)
#   OTKLIK_ELASTICSEARCH_PORT HTTP port (transport is +100) (default 9201)
#   OTKLIK_KAFKA_HEAP, OTKLIK_OPENSEARCH_HEAP, OTKLIK_ELASTICSEARCH_HEAP  (default 512m each)
#   OTKLIK_START_TIMEOUT  seconds to wait for health        (default 120)
#   OTKLIK_SERVICES_JAVA_OPTS  extra JVM options for all three (default -XX:TieredStopAtLevel=1:
#                         C1 JIT only, which halves start-up CPU on a 2-core machine; set it to
#                         the empty string for full C2 peak speed, e.g. for benchmarks)
#   KAFKA_VERSION, OPENSEARCH_VERSION, ELASTICSEARCH_VERSION  override the pom.xml defaults

SERVICES_SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${OTKLIK_CACHE:-$HOME/.cache/otklik}"
SDIR="${OTKLIK_SERVICES_DIR:-${TMPDIR:-/tmp}/otklik-services}"
START_TIMEOUT="${OTKLIK_START_TIMEOUT:-120}"

KAFKA_VERSION="${KAFKA_VERSION:-4.1.1}"
OPENSEARCH_VERSION="${OPENSEARCH_VERSION:-2.19.6}"
ELASTICSEARCH_VERSION="${ELASTICSEARCH_VERSION:-8.19.21}"

KAFKA_PORT="${OTKLIK_KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT=$((KAFKA_PORT + 1))
OPENSEARCH_PORT="${OTKLIK_OPENSEARCH_PORT:-9200}"
ELASTICSEARCH_PORT="${OTKLIK_ELASTICSEARCH_PORT:-9201}"

# Extra JVM options for every server; unset means C1-only JIT (start-up CPU halved), empty means
# none.
read -r -a EXTRA_JAVA_OPTS <<<"${OTKLIK_SERVICES_JAVA_OPTS--XX:TieredStopAtLevel=1}"

log() { printf '[otklik-services %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

find_java() {
	local jh="${OTKLIK_JAVA_HOME:-/usr/lib/jvm/java-17-openjdk-amd64}"
	if [[ -x "$jh/bin/java" ]]; then
		JAVA="$jh/bin/java"
		JAVAC="$jh/bin/javac"
	elif command -v java >/dev/null 2>&1; then
		JAVA="$(command -v java)"
		JAVAC="$(command -v javac || true)"
	else
		die "no Java found: install a JDK 17 (apt-get install openjdk-17-jdk-headless) or set OTKLIK_JAVA_HOME"
	fi
}

known_service() {
	case "$1" in kafka | opensearch | elasticsearch) return 0 ;; *) return 1 ;; esac
}

version_of() {
	case "$1" in
	kafka) echo "$KAFKA_VERSION" ;;
	opensearch) echo "$OPENSEARCH_VERSION" ;;
	elasticsearch) echo "$ELASTICSEARCH_VERSION" ;;
	esac
}

# libdir SERVICE: directory of the service's jars in the cache.
libdir() { echo "$CACHE/$1-$(version_of "$1")/lib"; }

# fetch SERVICE: copy the service's jars from Maven Central into the cache, once.
fetch() {
	local svc="$1" lib tmp
	lib="$(libdir "$svc")"
	if [[ -f "$lib/.complete" ]]; then
		return 0
	fi
	command -v mvn >/dev/null 2>&1 || die "mvn not found: apt-get install maven (needed once to fetch $svc)"
	log "fetching $svc $(version_of "$svc") from Maven Central into $lib"
	tmp="$lib.tmp.$$"
	rm -rf "$tmp"
	mkdir -p "$tmp"
	# Maven is a JVM too: C1-only JIT makes it cheaper on a busy 2-core machine.
	if ! MAVEN_OPTS="${MAVEN_OPTS:--XX:TieredStopAtLevel=1}" mvn -B -q -f "$SERVICES_SRC/pom.xml" -P "$svc" \
		-Dmaven.repo.local="$CACHE/m2" \
		-Dkafka.version="$KAFKA_VERSION" -Dopensearch.version="$OPENSEARCH_VERSION" \
		-Delasticsearch.version="$ELASTICSEARCH_VERSION" \
		dependency:copy-dependencies -DoutputDirectory="$tmp" >"$tmp.log" 2>&1; then
		tail -n 30 "$tmp.log" >&2
		rm -rf "$tmp"
		die "fetching $svc failed (maven output above)"
	fi
	rm -f "$tmp.log"
	touch "$tmp/.complete"
	rm -rf "$lib"
	mv "$tmp" "$lib"
}

pidfile() { echo "$SDIR/$1/pid"; }
logfile() { echo "$SDIR/$1/$1.log"; }

# running SERVICE: true if the service's recorded process is alive.
running() {
	local pf pid
	pf="$(pidfile "$1")"
	[[ -f "$pf" ]] || return 1
	pid="$(cat "$pf" 2>/dev/null)"
	[[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

port_of() {
	case "$1" in
	kafka) echo "$KAFKA_PORT" ;;
	opensearch) echo "$OPENSEARCH_PORT" ;;
	elasticsearch) echo "$ELASTICSEARCH_PORT" ;;
	esac
}

# spawn SERVICE CMD...: start CMD detached (own session), stdout+stderr to the log file, record pid.
spawn() {
	local svc="$1"
	shift
	local pf lf
	pf="$(pidfile "$svc")"
	lf="$(logfile "$svc")"
	mkdir -p "$SDIR/$svc"
	printf '\n===== %s start %s =====\n' "$svc" "$(date -Is)" >>"$lf"
	# The inner shell writes its own pid and then becomes the JVM (exec), so the pid file names
	# the JVM itself.
	# shellcheck disable=SC2016 # expanded by the inner shell
	setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pf" "$@" >>"$lf" 2>&1 </dev/null &
	for _ in $(seq 1 50); do
		[[ -s "$pf" ]] && break
		sleep 0.1
	done
}

tail_log() {
	local lf
	lf="$(logfile "$1")"
	if [[ -f "$lf" ]]; then
		log "last lines of $lf:"
		tail -n "${2:-40}" "$lf" >&2
	fi
}

# ---------------------------------------------------------------------------------------------
# Kafka: single-node KRaft (combined broker+controller), PLAINTEXT on 127.0.0.1.

kafka_config() {
	local d="$SDIR/kafka"
	mkdir -p "$d/data"
	cat >"$d/server.properties" <<EOF
# written by deployments/services (otklik test services)
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$d/data
num.partitions=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
EOF
}

kafka_java() {
	"$JAVA" "${EXTRA_JAVA_OPTS[@]}" -Dorg.slf4j.simpleLogger.defaultLogLevel="${1:-warn}" -Dorg.slf4j.simpleLogger.logFile=System.err \
		-cp "$(libdir kafka)/*" "${@:2}"
}

kafka_start() {
	local d="$SDIR/kafka"
	kafka_config
	if [[ ! -f "$d/data/meta.properties" ]]; then
		local id
		# what `kafka-storage random-uuid` prints: 16 random bytes, URL-safe base64, unpadded
		id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
		log "formatting Kafka storage $d/data (cluster id $id)"
		kafka_java warn kafka.tools.StorageTool format -t "$id" -c "$d/server.properties" \
			>>"$(logfile kafka)" 2>&1 || {
			tail_log kafka
			die "kafka-storage format failed"
		}
	fi
	spawn kafka "$JAVA" "${EXTRA_JAVA_OPTS[@]}" -Xms"${OTKLIK_KAFKA_HEAP:-512m}" -Xmx"${OTKLIK_KAFKA_HEAP:-512m}" \
		-XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
		-Dorg.slf4j.simpleLogger.showDateTime=true \
		-Dorg.slf4j.simpleLogger.dateTimeFormat="yyyy-MM-dd'T'HH:mm:ss.SSS" \
		-cp "$(libdir kafka)/*" kafka.Kafka "$d/server.properties"
}

# kafka_healthy: a real metadata round trip. kafka_metadata.py (no JVM: cheap to poll) when
# python3 is there, else ClusterTool's DescribeCluster through the Java admin client.
kafka_healthy() {
	port_open "$KAFKA_PORT" || return 1
	if command -v python3 >/dev/null 2>&1; then
		python3 "$SERVICES_SRC/kafka_metadata.py" "127.0.0.1:$KAFKA_PORT" 5 >/dev/null 2>&1
	else
		kafka_java error org.apache.kafka.tools.ClusterTool cluster-id \
			--bootstrap-server "127.0.0.1:$KAFKA_PORT" >/dev/null 2>&1
	fi
}

# ---------------------------------------------------------------------------------------------
# OpenSearch / Elasticsearch: a small Java launcher starts a Node with classpath plugins.

search_log4j_config() {
	cat >"$1/log4j2.properties" <<'EOF'
status = error
appender.console.type = Console
appender.console.name = console
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d{ISO8601}][%-5p][%-25c{1.}] [%node_name]%marker %m%n
rootLogger.level = info
rootLogger.appenderRef.console.ref = console
logger.deprecation.name = org.opensearch.deprecation
logger.deprecation.level = error
logger.esdeprecation.name = org.elasticsearch.deprecation
logger.esdeprecation.level = error
EOF
}

# compile_launcher SERVICE CLASS CLASSPATH-OPTIONS...: compile java/CLASS.java against the
# service's jars, once per source change; prints the classes directory.
compile_launcher() {
	local svc="$1" cls="$2" classes src
	shift 2
	classes="$CACHE/$svc-$(version_of "$svc")/classes"
	src="$SERVICES_SRC/java/$cls.java"
	if [[ ! -f "$classes/$cls.class" || "$src" -nt "$classes/$cls.class" ]]; then
		[[ -x "$JAVAC" ]] || die "javac not found: a JDK (not a JRE) is needed to compile $cls.java"
		mkdir -p "$classes"
		"$JAVAC" -nowarn -encoding UTF-8 "$@" -d "$classes" "$src" >&2 ||
			die "compiling $src failed"
	fi
	echo "$classes"
}

search_jvm_opts() {
	echo -XX:+UseG1GC -Djava.awt.headless=true -Dfile.encoding=UTF-8 \
		-Dlog4j2.disable.jmx=true -Dlog4j.shutdownHookEnabled=false \
		-Dio.netty.noUnsafe=true -Dio.netty.noKeySetOptimization=true \
		-Dio.netty.recycler.maxCapacityPerThread=0 -Dio.netty.allocator.numDirectArenas=0 \
		-XX:-OmitStackTraceInFastThrow
}

opensearch_start() {
	local home="$SDIR/opensearch/home" classes
	mkdir -p "$home/config"
	search_log4j_config "$home/config"
	: >"$home/config/opensearch.yml"
	classes="$(compile_launcher opensearch OpenSearchLauncher -cp "$(libdir opensearch)/*")"
	local heap="${OTKLIK_OPENSEARCH_HEAP:-512m}"
	# shellcheck disable=SC2046
	spawn opensearch "$JAVA" "${EXTRA_JAVA_OPTS[@]}" -Xms"$heap" -Xmx"$heap" $(search_jvm_opts) \
		-Djava.locale.providers=SPI,COMPAT \
		-cp "$(libdir opensearch)/*:$classes" OpenSearchLauncher \
		"$home" "$OPENSEARCH_PORT" $((OPENSEARCH_PORT + 100))
}

# Elasticsearch 8 runs as the real distribution does: the server and its libraries on the module
# path, the transport-netty4 module (with its netty jars) in <home>/modules. Maven Central ships
# the module's descriptor inside its jar; the modulename line is dropped so that the module loads
# as a plain (non-modular) plugin next to the server.
elasticsearch_layout() {
	local home="$1" lib server mod j b
	lib="$(libdir elasticsearch)"
	server="$CACHE/elasticsearch-$ELASTICSEARCH_VERSION/server"
	mod="$home/modules/transport-netty4"
	if [[ ! -f "$server/.complete" ]]; then
		# built aside and renamed, so that concurrent starts never see half a directory
		local tmp="$server.tmp.$$"
		rm -rf "$tmp"
		mkdir -p "$tmp"
		for j in "$lib"/*.jar; do
			b="$(basename "$j")"
			case "$b" in
			netty-* | transport-netty4-*) ;;
			*) ln -s "$j" "$tmp/$b" ;;
			esac
		done
		touch "$tmp/.complete"
		rm -rf "$server"
		mv "$tmp" "$server"
	fi
	rm -rf "$mod"
	mkdir -p "$mod" "$home/plugins"
	for j in "$lib"/netty-*.jar "$lib"/transport-netty4-*.jar; do
		ln -s "$j" "$mod/$(basename "$j")"
	done
	python3 -c 'import sys, zipfile; sys.stdout.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]).decode())' \
		"$lib/transport-netty4-$ELASTICSEARCH_VERSION.jar" \
		META-INF/es-plugins/transport-netty4/plugin-descriptor.properties |
		grep -v '^modulename=' >"$mod/plugin-descriptor.properties"
	[[ -s "$mod/plugin-descriptor.properties" ]] || die "no plugin descriptor in transport-netty4 jar"
	echo "$server"
}

elasticsearch_start() {
	local home="$SDIR/elasticsearch/home" classes server
	mkdir -p "$home/config"
	search_log4j_config "$home/config"
	: >"$home/config/elasticsearch.yml"
	server="$(elasticsearch_layout "$home")"
	classes="$(compile_launcher elasticsearch ElasticsearchLauncher -p "$server" --add-modules ALL-MODULE-PATH)"
	local heap="${OTKLIK_ELASTICSEARCH_HEAP:-512m}"
	# shellcheck disable=SC2046
	spawn elasticsearch "$JAVA" "${EXTRA_JAVA_OPTS[@]}" -Xms"$heap" -Xmx"$heap" $(search_jvm_opts) \
		--module-path "$server" --add-modules ALL-MODULE-PATH -cp "$classes" ElasticsearchLauncher \
		"$home" "$ELASTICSEARCH_PORT" $((ELASTICSEARCH_PORT + 100))
}

search_healthy() {
	curl -fs -o /dev/null --max-time 5 \
		"http://127.0.0.1:$1/_cluster/health?wait_for_status=yellow&timeout=2s"
}

# ---------------------------------------------------------------------------------------------

healthy() {
	case "$1" in
	kafka) kafka_healthy ;;
	opensearch) search_healthy "$OPENSEARCH_PORT" ;;
	elasticsearch) search_healthy "$ELASTICSEARCH_PORT" ;;
	esac
}

# launch SERVICE: fetch and start it unless already running (does not wait for health).
launch() {
	local svc="$1" port
	find_java
	fetch "$svc"
	port="$(port_of "$svc")"
	if running "$svc"; then
		log "$svc already running (pid $(cat "$(pidfile "$svc")"))"
		return 0
	fi
	if port_open "$port"; then
		log "$svc: port 127.0.0.1:$port is taken by another process (not started by these scripts)"
		return 1
	fi
	log "starting $svc $(version_of "$svc") on 127.0.0.1:$port (log $(logfile "$svc"))"
	"${svc}_start"
}

# wait_healthy SERVICE: wait until healthy. Returns 1 (after printing the log tail) if the service
# exited or did not become healthy within START_TIMEOUT.
wait_healthy() {
	local svc="$1" t0=$SECONDS
	until healthy "$svc"; do
		if ! running "$svc"; then
			log "$svc exited during start-up"
			tail_log "$svc"
			rm -f "$(pidfile "$svc")"
			return 1
		fi
		if ((SECONDS - t0 > START_TIMEOUT)); then
			log "$svc not healthy after ${START_TIMEOUT}s"
			tail_log "$svc"
			return 1
		fi
		sleep 0.5
	done
	log "$svc healthy"
}

# start SERVICE: launch and wait for health.
start() {
	launch "$1" && wait_healthy "$1"
}

# stop SERVICE [SIGNAL]: SIGTERM (clean shutdown, data kept) then SIGKILL after 30 s; with
# SIGNAL=KILL it kills at once (crash simulation). Idempotent.
stop() {
	local svc="$1" sig="${2:-TERM}" pf pid
	pf="$(pidfile "$svc")"
	if ! running "$svc"; then
		rm -f "$pf"
		log "$svc not running"
		return 0
	fi
	pid="$(cat "$pf")"
	log "stopping $svc (pid $pid, SIG$sig)"
	kill -s "$sig" "$pid" 2>/dev/null || true
	for _ in $(seq 1 300); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "$svc did not stop in 30s: SIGKILL"
		kill -s KILL "$pid" 2>/dev/null || true
		sleep 0.5
	fi
	rm -f "$pf"
	printf '===== %s stopped %s (SIG%s) =====\n' "$svc" "$(date -Is)" "$sig" >>"$(logfile "$svc")"
}

export_line() {
	case "$1" in
	kafka) echo "export OTKLIK_TEST_KAFKA=127.0.0.1:$KAFKA_PORT" ;;
	opensearch) echo "export OTKLIK_TEST_OPENSEARCH_URL=http://127.0.0.1:$OPENSEARCH_PORT" ;;
	elasticsearch) echo "export OTKLIK_TEST_ELASTICSEARCH_URL=http://127.0.0.1:$ELASTICSEARCH_PORT" ;;
	esac
}
