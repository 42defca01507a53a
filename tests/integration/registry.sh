# registry.sh: a loopback test bed for push tests. Source it after lib.sh.
#
# Every server binds to 127.0.0.1 on a free port, lives in $T_TMP/testbed,
# is polled until it answers (never a fixed sleep) and is stopped by the
# EXIT trap, which this file chains in front of lib.sh's cleanup. Each
# start function takes a NAME (a shell identifier) and sets:
#   NAME_ADDR  host:port          NAME_URL  http(s)://host:port
#   NAME_DIR   its directory      NAME_LOG  its log file   NAME_PID
# TLS registries also set NAME_CA (the run's throwaway CA certificate) and
# NAME_CERTS (a directory holding ca.crt, for skopeo --cert-dir).
#
#   reg_start_plain NAME [filesystem|inmemory]
#   reg_start_tls NAME [filesystem|inmemory]      TLS, HTTP/2 by ALPN
#   reg_start_htpasswd NAME USER PASS             TLS + Basic auth
#   reg_start_token NAME [TOKENSERVER-ARGS...]    TLS + Bearer tokens from
#       tests/integration/tokenserver.py (users alice:s3cret, bob:b0b
#       read-only, anonymous pull; https realm on localhost); sets
#       NAME_LADDR (localhost:port), NAME_TOKEN_ADDR, NAME_REALM,
#       NAME_TOKEN_LOG
#   proxy_start NAME UPSTREAM [FAULTPROXY-ARGS...]   faultproxy.py, plain
#   proxy_start_tls NAME UPSTREAM [ARGS...]          TLS on both sides
#   nginx_start NAME UPSTREAM MAXBODY             nginx, client_max_body_size
#   reg_wipe NAME, reg_restart NAME, reg_stop NAME
#   reg_log NAME, reg_requests NAME [FROM-LINE], reg_log_lines NAME
#   reg_certs_d NAME DIR    DIR/HOST:PORT/ca.crt (for HOIST_CERTS_D; for
#                           NAME_ADDR and NAME_LADDR)
#   proxy_config NAME JSON, proxy_stats NAME [JQ-FILTER], proxy_reset NAME
#
# Registries use a fixed http.secret (an upload survives a restart),
# storage.delete.enabled and no upload purging. REG_HTTP_EXTRA holds YAML
# lines (indented two spaces) added under http:, e.g. "  relativeurls: true".
# REG_MAX_SECONDS bounds every server's life (default 900).

REG_DIR=${T_TMP:?source lib.sh before registry.sh}/testbed
REG_PKI=$REG_DIR/pki
REG_PIDS=
REG_SECRET=hoist-testbed-fixed-secret
: "${REG_MAX_SECONDS:=900}"
: "${REG_HTTP_EXTRA:=}"
mkdir -p "$REG_DIR"

# _reap PID TRIES: give PID (sent TERM already) TRIES x 50 ms to end, then
# KILL it; collect it either way
_reap() {
	n=0
	while kill -0 "$1" 2>/dev/null && [ $n -lt "$2" ]; do
		sleep 0.05
		n=$((n + 1))
	done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

reg_cleanup() {
	for p in $REG_PIDS; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in $REG_PIDS; do
		# timeout(1) passes TERM on to its child; a stubborn one gets KILL
		_reap "$p" 40
	done
	REG_PIDS=
}
trap 'reg_cleanup; t_cleanup' EXIT
trap 'exit 130' INT TERM HUP

reg_die() {
	echo "registry.sh: $*" >&2
	return 1
}

# _get NAME FIELD: print ${NAME_FIELD}
_get() { eval "printf '%s' \"\${$1_$2:-}\""; }
_set() { eval "$1_$2=\$3"; }

reg_free_port() {
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# reg_wait URL PID [CURL-ARGS...]: poll until URL answers with any HTTP
# status, while PID lives; at most 20 s.
reg_wait() {
	url=$1
	pid=$2
	shift 2
	end=$(($(date +%s) + 20))
	while :; do
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$@" \
			"$url" 2>/dev/null)
		[ -n "$code" ] && [ "$code" != 000 ] && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		[ "$(date +%s)" -lt "$end" ] || return 1
		sleep 0.02
	done
}

# _port_file FILE PID LOG WHAT: wait (20 s at most) for the server PID to
# write its port to FILE; if it dies first or never does, show its LOG
# and fail with "WHAT did not start"
_port_file() {
	end=$(($(date +%s) + 20))
	while [ ! -s "$1" ]; do
		if ! kill -0 "$2" 2>/dev/null ||
			[ "$(date +%s)" -ge "$end" ]; then
			cat "$3" >&2
			reg_die "$4 did not start"
			return 1
		fi
		sleep 0.02
	done
}

# _bg LOG CMD...: run CMD in the background, bounded in time, remember it
_bg() {
	log=$1
	shift
	timeout "$REG_MAX_SECONDS" "$@" >>"$log" 2>&1 </dev/null &
	REG_BG=$!
	REG_PIDS="$REG_PIDS $REG_BG"
}

# The run's PKI: one CA, one server certificate for localhost, 127.0.0.1
# and ::1, and a signer for tokens. Made once, with the openssl CLI.
reg_pki() {
	[ -f "$REG_PKI/server.crt" ] && return 0
	mkdir -p "$REG_PKI/certs.d"
	(
		cd "$REG_PKI" &&
			openssl req -x509 -newkey ec \
				-pkeyopt ec_paramgen_curve:prime256v1 -nodes \
				-keyout ca.key -out ca.crt -days 2 \
				-subj "/CN=hoist testbed CA" \
				-addext "basicConstraints=critical,CA:TRUE" \
				-addext "keyUsage=critical,keyCertSign,cRLSign" &&
			openssl req -newkey ec \
				-pkeyopt ec_paramgen_curve:prime256v1 -nodes \
				-keyout server.key -out server.csr \
				-subj "/CN=localhost" &&
			printf '%s\n' \
				'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1' \
				'extendedKeyUsage=serverAuth' \
				'basicConstraints=CA:FALSE' >server.ext &&
			openssl x509 -req -in server.csr -CA ca.crt \
				-CAkey ca.key -CAcreateserial -out server.crt \
				-days 2 -extfile server.ext &&
			openssl verify -CAfile ca.crt server.crt &&
			cp ca.crt certs.d/ca.crt
	) >"$REG_DIR/pki.log" 2>&1 || {
		cat "$REG_DIR/pki.log" >&2
		reg_die "openssl could not make the test CA"
		return 1
	}
}

# _reg_config NAME PORT STORAGE TLS(0|1) AUTH-YAML
_reg_config() {
	d=$(_get "$1" DIR)
	{
		echo "version: 0.1"
		echo "log:"
		echo "  level: info"
		echo "  formatter: text"
		echo "  accesslog:"
		echo "    disabled: false"
		echo "storage:"
		if [ "$3" = inmemory ]; then
			echo "  inmemory: {}"
		else
			echo "  filesystem:"
			echo "    rootdirectory: $d/data"
		fi
		echo "  delete:"
		echo "    enabled: true"
		echo "  maintenance:"
		echo "    uploadpurging:"
		echo "      enabled: false"
		echo "http:"
		echo "  addr: 127.0.0.1:$2"
		echo "  secret: $REG_SECRET"
		echo "  headers:"
		echo "    X-Content-Type-Options: [nosniff]"
		if [ "$4" = 1 ]; then
			echo "  tls:"
			echo "    certificate: $REG_PKI/server.crt"
			echo "    key: $REG_PKI/server.key"
		fi
		if [ -n "$REG_HTTP_EXTRA" ]; then
			printf '%s\n' "$REG_HTTP_EXTRA"
		fi
		if [ -n "$5" ]; then
			printf '%s\n' "$5"
		fi
	} >"$d/config.yml"
}

# _reg_run NAME: start (or restart) the registry from its config and wait
_reg_run() {
	d=$(_get "$1" DIR)
	_bg "$d/registry.log" docker-registry serve "$d/config.yml"
	_set "$1" PID "$REG_BG"
	if [ "$(_get "$1" TLS)" = 1 ]; then
		reg_wait "$(_get "$1" URL)/v2/" "$REG_BG" --cacert "$REG_PKI/ca.crt"
	else
		reg_wait "$(_get "$1" URL)/v2/" "$REG_BG"
	fi
}

# _reg_start NAME STORAGE TLS AUTH-YAML: pick a port, write the config and
# start; a port taken between the probe and the bind gets another try.
_reg_start() {
	command -v docker-registry >/dev/null ||
		{ reg_die "docker-registry is not installed"; return 1; }
	name=$1
	# lib.sh owns T_LOG, T_TMP, ...: a registry called T would clobber them
	[ "$name" != T ] || { reg_die "registry name 'T' clashes with lib.sh"; return 1; }
	d=$REG_DIR/$name
	mkdir -p "$d"
	_set "$name" DIR "$d"
	_set "$name" LOG "$d/registry.log"
	_set "$name" TLS "$3"
	_set "$name" STORAGE "$2"
	scheme=http
	[ "$3" = 1 ] && scheme=https
	if [ "$3" = 1 ]; then
		reg_pki || return 1
		_set "$name" CA "$REG_PKI/ca.crt"
		_set "$name" CERTS "$REG_PKI/certs.d"
	fi
	for try in 1 2 3 4 5; do
		port=$(reg_free_port) || return 1
		_set "$name" ADDR "127.0.0.1:$port"
		_set "$name" URL "$scheme://127.0.0.1:$port"
		_reg_config "$name" "$port" "$2" "$3" "$4"
		: >"$d/registry.log"
		_reg_run "$name" && return 0
		kill -TERM "$(_get "$name" PID)" 2>/dev/null
		grep -q 'address already in use' "$d/registry.log" || break
	done
	cat "$d/registry.log" >&2
	reg_die "registry '$name' did not start"
}

reg_start_plain() {
	_reg_start "$1" "${2:-filesystem}" 0 ""
}

reg_start_tls() {
	_reg_start "$1" "${2:-filesystem}" 1 ""
}

reg_start_htpasswd() {
	command -v htpasswd >/dev/null ||
		{ reg_die "htpasswd (apache2-utils) is not installed"; return 1; }
	mkdir -p "$REG_DIR/$1"
	# distribution accepts bcrypt only
	htpasswd -Bbn "$2" "$3" >"$REG_DIR/$1/htpasswd" || return 1
	_set "$1" USER "$2"
	_set "$1" PASS "$3"
	_reg_start "$1" filesystem 1 "auth:
  htpasswd:
    realm: hoist-testbed
    path: $REG_DIR/$1/htpasswd"
}

# reg_start_token NAME [ARGS...]: ARGS go to tokenserver.py (for example
# --fail-every 3 or --header-mode x5c). The realm is https on "localhost",
# on another port than the registry; with REG_TOKEN_HTTP=1 it is plain
# http instead (which hoist must refuse for an https registry). NAME_ADDR
# (127.0.0.1:port) and NAME_LADDR (localhost:port) both reach the
# registry; NAME_TOKEN_LOG has one JSON line per token request.
reg_start_token() {
	name=$1
	shift
	ts=$HOIST_SRCDIR/tests/integration/tokenserver.py
	if [ ! -f "$ts" ]; then
		reg_die "reg_start_token: '$ts' does not exist yet (the token issuer belongs to auth; this test bed does not write its own)"
		return 1
	fi
	reg_pki || return 1
	d=$REG_DIR/$name
	mkdir -p "$d"
	if [ ! -f "$REG_PKI/token.crt" ]; then
		(cd "$REG_PKI" && openssl req -x509 -newkey rsa:2048 -nodes \
			-keyout token.key -out token.crt -days 2 \
			-subj "/CN=hoist testbed token signer") \
			>>"$REG_DIR/pki.log" 2>&1 ||
			{ reg_die "openssl could not make the token signer"; return 1; }
	fi
	rm -f "$d/token.port"
	: >"$d/tokenserver.log"
	tscheme=https
	set -- --tls-cert "$REG_PKI/server.crt" --tls-key "$REG_PKI/server.key" "$@"
	if [ "${REG_TOKEN_HTTP:-}" = 1 ]; then
		tscheme=http
		shift 4
	fi
	_bg "$d/tokenserver.log" python3 "$ts" --port 0 \
		--port-file "$d/token.port" --log "$d/tokens.jsonl" \
		--key "$REG_PKI/token.key" --cert "$REG_PKI/token.crt" \
		--issuer hoist-testbed-issuer --service hoist-testbed \
		--user alice:s3cret --user bob:b0b --readonly bob \
		--anonymous --max-seconds "$REG_MAX_SECONDS" "$@"
	tpid=$REG_BG
	_port_file "$d/token.port" "$tpid" "$d/tokenserver.log" \
		"token server for '$name'" || return 1
	tport=$(cat "$d/token.port")
	realm=$tscheme://localhost:$tport/token
	reg_wait "$realm" "$tpid" --cacert "$REG_PKI/ca.crt" ||
		{ reg_die "token server for '$name' does not answer"; return 1; }
	_set "$name" TOKEN_PID "$tpid"
	_set "$name" TOKEN_ADDR "localhost:$tport"
	_set "$name" TOKEN_LOG "$d/tokens.jsonl"
	_set "$name" REALM "$realm"
	_set "$name" USER alice
	_set "$name" PASS s3cret
	_reg_start "$name" filesystem 1 "auth:
  token:
    realm: $realm
    service: hoist-testbed
    issuer: hoist-testbed-issuer
    rootcertbundle: $REG_PKI/token.crt" || return 1
	_set "$name" LADDR "localhost:$(_get "$name" ADDR | cut -d: -f2)"
}

# reg_stop NAME: stop one server (its directory stays for inspection)
reg_stop() {
	p=$(_get "$1" PID)
	[ -n "$p" ] || return 0
	kill -TERM "$p" 2>/dev/null
	_reap "$p" 100
	REG_PIDS=$(echo "$REG_PIDS" | tr ' ' '\n' | grep -vx "$p" | tr '\n' ' ')
	_set "$1" PID ""
	return 0
}

# reg_restart NAME: same config, same port, same storage (uploads in
# progress survive thanks to the fixed secret, inmemory storage does not)
reg_restart() {
	reg_stop "$1"
	_reg_run "$1" || { reg_die "registry '$1' did not restart"; return 1; }
}

# reg_wipe NAME: forget every repository, blob and upload (safe while the
# registry runs; no blob descriptor cache is configured)
reg_wipe() {
	if [ "$(_get "$1" STORAGE)" = inmemory ]; then
		reg_restart "$1"
		return
	fi
	rm -rf "$(_get "$1" DIR)/data/docker"
}

reg_log() { cat "$(_get "$1" LOG)"; }
reg_log_lines() { wc -l <"$(_get "$1" LOG)" | tr -d ' '; }

# reg_requests NAME [FROM-LINE]: the access log as "METHOD PATH STATUS"
# lines (from line FROM-LINE + 1 on, see reg_log_lines)
reg_requests() {
	tail -n +"$((${2:-0} + 1))" "$(_get "$1" LOG)" |
		sed -n 's/^[^"]*"\([A-Z]*\) \([^ ]*\) HTTP\/[0-9.]*" \([0-9]*\) .*/\1 \2 \3/p'
}

# reg_certs_d NAME DIR: a certs.d tree for the registry (DIR/HOST:PORT/)
reg_certs_d() {
	for a in $(_get "$1" ADDR) $(_get "$1" LADDR); do
		mkdir -p "$2/$a" && cp "$REG_PKI/ca.crt" "$2/$a/ca.crt" ||
			return 1
	done
}

# proxy_start NAME UPSTREAM [ARGS...]: faultproxy.py in front of UPSTREAM
# (host:port); ARGS are faultproxy flags. NAME_LOG is its JSON request log.
proxy_start() {
	name=$1
	up=$2
	shift 2
	d=$REG_DIR/$name
	mkdir -p "$d"
	rm -f "$d/port"
	_set "$name" DIR "$d"
	_set "$name" LOG "$d/requests.jsonl"
	scheme=http
	case " $* " in *" --tls-cert "*) scheme=https ;; esac
	python3 "$HOIST_SRCDIR/tests/integration/faultproxy.py" --port 0 \
		--port-file "$d/port" --upstream "$up" --log "$d/requests.jsonl" \
		--max-seconds "$REG_MAX_SECONDS" "$@" >>"$d/proxy.log" 2>&1 \
		</dev/null &
	pid=$!
	REG_PIDS="$REG_PIDS $pid"
	_set "$name" PID "$pid"
	_port_file "$d/port" "$pid" "$d/proxy.log" "faultproxy '$name'" ||
		return 1
	port=$(cat "$d/port")
	_set "$name" ADDR "127.0.0.1:$port"
	_set "$name" URL "$scheme://127.0.0.1:$port"
	_set "$name" SCHEME "$scheme"
	reg_wait "$scheme://127.0.0.1:$port/_faultproxy/stats" "$pid" -k ||
		{ reg_die "faultproxy '$name' does not answer"; return 1; }
}

# proxy_start_tls NAME UPSTREAM [ARGS...]: TLS towards the client (the
# run's server certificate) and towards a TLS registry (the run's CA)
proxy_start_tls() {
	reg_pki || return 1
	n=$1
	u=$2
	shift 2
	proxy_start "$n" "$u" --tls-cert "$REG_PKI/server.crt" \
		--tls-key "$REG_PKI/server.key" --upstream-tls \
		--upstream-ca "$REG_PKI/ca.crt" "$@" &&
		_set "$n" CA "$REG_PKI/ca.crt" &&
		_set "$n" CERTS "$REG_PKI/certs.d"
}

# proxy_config NAME JSON: change faults at run time (prints the new config)
proxy_config() {
	curl -sfk --max-time 10 -X POST --data "$2" \
		"$(_get "$1" URL)/_faultproxy/config"
}

proxy_reset() {
	curl -sfk --max-time 10 -X POST -o /dev/null \
		"$(_get "$1" URL)/_faultproxy/reset"
}

# proxy_stats NAME [JQ-FILTER]: the counters, or one value from them
proxy_stats() {
	curl -sfk --max-time 10 "$(_get "$1" URL)/_faultproxy/stats" |
		jq -r "${2:-.}"
}

# proxy_holds NAME JQ-TEST: the counters pass JQ-TEST (for wait_for)
proxy_holds() { proxy_stats "$1" "$2" | grep -qx true; }

# proxy_drop_held NAME: its client killed, let the faultproxy NAME go on
# from a stall_body_after hold, and wait (30 s at most) until it has
# dropped the held body, so that no late count of it lands in the next
# run's stats
proxy_drop_held() {
	proxy_config "$1" '{"stall_body_after": null}' >/dev/null &&
		wait_for 30 proxy_holds "$1" \
			'.stalled == 0 and (.faults.client_gone // 0) >= 1'
}

# nginx_start NAME UPSTREAM MAXBODY: nginx (plain HTTP) in front of
# UPSTREAM (host:port) with client_max_body_size MAXBODY (e.g. 1m)
nginx_start() {
	command -v nginx >/dev/null ||
		{ reg_die "nginx (nginx-light) is not installed"; return 1; }
	name=$1
	d=$REG_DIR/$name
	mkdir -p "$d/tmp"
	_set "$name" DIR "$d"
	_set "$name" LOG "$d/error.log"
	_set "$name" ACCESS "$d/access.log"
	for try in 1 2 3 4 5; do
		port=$(reg_free_port) || return 1
		sed -e "s|@PREFIX@|$d|g" -e "s|@LISTEN@|127.0.0.1:$port|g" \
			-e "s|@UPSTREAM@|$2|g" -e "s|@MAXBODY@|$3|g" \
			"$HOIST_SRCDIR/tests/integration/nginx-413.conf.in" \
			>"$d/nginx.conf"
		: >"$d/error.log"
		_bg "$d/stderr.log" nginx -e "$d/error.log" -p "$d" \
			-c "$d/nginx.conf"
		_set "$name" PID "$REG_BG"
		_set "$name" ADDR "127.0.0.1:$port"
		_set "$name" URL "http://127.0.0.1:$port"
		reg_wait "http://127.0.0.1:$port/v2/" "$REG_BG" && return 0
		kill -TERM "$REG_BG" 2>/dev/null
		grep -q 'Address already in use' "$d/error.log" || break
	done
	cat "$d/error.log" "$d/stderr.log" >&2
	reg_die "nginx '$name' did not start"
}

# ---- helpers for the push tests ----------------------------------------

# need_hoist_push: the push CLI must exist (skip locally, fail under CI)
need_hoist_push() {
	"$HOIST" push --help >/dev/null 2>&1 && return 0
	if [ "${CI:-}" = true ]; then
		echo "not ok 1 - 'hoist push' is missing under CI"
		echo "1..1"
		exit 1
	fi
	echo "1..0 # SKIP 'hoist push' does not exist yet"
	exit 0
}

# store_digest NAME: the root digest hoist holds for NAME in its store
store_digest() { "$HOIST" inspect "$1" | jq -r .descriptor.digest; }
# store_blob DIGEST: the path of a blob in the store
store_blob() { printf '%s/blobs/sha256/%s' "$HOIST_ROOT" "${1#sha256:}"; }

# image_blob_bytes NAME: bytes of the distinct blobs (configs and layers)
# of NAME, all platforms
image_blob_bytes() {
	"$HOIST" inspect "$1" | jq '[.images[] | .manifest.config,
		.manifest.layers[]] | unique_by(.digest) | map(.size) | add'
}

# remote_digest REF [SKOPEO-OPTS...]: digest of the manifest bytes REF has
remote_digest() {
	r=$1
	shift
	timeout 60 skopeo --insecure-policy inspect --raw "$@" "docker://$r" \
		>"$T_TMP/remote.raw" || return 1
	echo "sha256:$(sha256sum <"$T_TMP/remote.raw" | cut -d' ' -f1)"
}

# readback_ok DIGEST REF [SKOPEO-SRC-OPTS...]: skopeo copies REF (every
# platform, hashing every blob) into a dir:, and the manifest bytes (and an
# index's children) equal the store's blobs for DIGEST
readback_ok() {
	dig=$1
	r=$2
	shift 2
	back=$(mktemp -d "$T_TMP/back.XXXXXX")
	timeout 120 skopeo --insecure-policy copy --all "$@" "docker://$r" \
		"dir:$back" || return 1
	cmp "$(store_blob "$dig")" "$back/manifest.json" || return 1
	case $(jq -r .mediaType "$(store_blob "$dig")") in
	*index* | *list*)
		for c in $(jq -r '.manifests[].digest' "$(store_blob "$dig")"); do
			cmp "$(store_blob "$c")" "$back/${c#sha256:}.manifest.json" ||
				return 1
		done
		;;
	esac
	rm -rf "$back"
}

# proxy_body_bytes NAME [received|forwarded]: request-body bytes, all methods
proxy_body_bytes() {
	proxy_stats "$1" "[.body_${2:-forwarded}[]] | add // 0"
}

# push_env: hermetic credentials and certificates for hoist and skopeo:
# DOCKER_CONFIG, containers' auth files and HOIST_CERTS_D all point into
# the test's directory (empty until a test fills them)
push_env() {
	unset REGISTRY_AUTH_FILE
	XDG_RUNTIME_DIR=$T_TMP/xdg-run
	XDG_CONFIG_HOME=$T_TMP/xdg-config
	DOCKER_CONFIG=$T_TMP/docker
	HOIST_CERTS_D=$T_TMP/certs.d
	export XDG_RUNTIME_DIR XDG_CONFIG_HOME DOCKER_CONFIG HOIST_CERTS_D
	mkdir -p "$XDG_RUNTIME_DIR" "$XDG_CONFIG_HOME" "$DOCKER_CONFIG" \
		"$HOIST_CERTS_D"
	chmod 700 "$XDG_RUNTIME_DIR"
}
