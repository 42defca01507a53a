#!/bin/sh
# http2.sh: push one random blob (default 256 MiB) monolithically (POST,
# then PUT ?digest= with the whole body) into a fresh repository of a TLS
# docker-registry on loopback, N times over HTTP/1.1 and over HTTP/2, through
# hoist's client (bench/http2-push.c against libhoist.a) and, for reference,
# through the curl CLI. Prints every run, the medians and the h2/h1 ratio.
#
# usage: bench/http2.sh [BUILDDIR]     (BUILDDIR holds libhoist.a; default .)
# env:   N=3 runs per case, MIB=256 blob size
# Needs docker-registry, openssl, curl, pkg-config and a C compiler. The
# registry listens on 127.0.0.1 only and is stopped on exit.
set -eu

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-.}" && pwd)
N=${N:-3}
MIB=${MIB:-256}
CC=${CC:-cc}

[ -f "$BUILD/libhoist.a" ] || { echo "no libhoist.a in $BUILD" >&2; exit 2; }
for t in docker-registry openssl curl pkg-config python3; do
	command -v $t >/dev/null || { echo "missing: $t" >&2; exit 2; }
done

S=$(mktemp -d "${TMPDIR:-/tmp}/hoist-h2bench-XXXXXX")
REG_PID=
cleanup() {
	if [ -n "$REG_PID" ]; then
		kill "$REG_PID" 2>/dev/null || :
		wait "$REG_PID" 2>/dev/null || :
	fi
	rm -rf "$S"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The driver, outside the main build.
PKGS="libcurl libcrypto libssl jansson libzstd zlib libarchive"
$CC -O2 -I"$SRC/src" -DPACKAGE_VERSION='"bench"' -o "$S/http2-push" \
	"$SRC/bench/http2-push.c" "$BUILD/libhoist.a" \
	$(pkg-config --cflags --libs $PKGS) -pthread

# A throwaway CA and a server certificate for 127.0.0.1.
mkdir "$S/pki"
(
	cd "$S/pki"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
		-nodes -keyout ca.key -out ca.crt -days 2 -subj "/CN=bench CA" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout server.key -out server.csr -subj "/CN=localhost" \
		2>/dev/null
	printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >server.ext
	openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key \
		-CAcreateserial -out server.crt -days 2 -extfile server.ext \
		2>/dev/null
)
CA=$S/pki/ca.crt

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$S/config.yml" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $S/data
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:$PORT
  secret: bench-secret
  tls:
    certificate: $S/pki/server.crt
    key: $S/pki/server.key
EOF
docker-registry serve "$S/config.yml" >"$S/registry.log" 2>&1 &
REG_PID=$!
BASE=https://127.0.0.1:$PORT
i=0
until curl -sf --cacert "$CA" "$BASE/v2/" >/dev/null; do
	i=$((i + 1))
	[ $i -lt 200 ] || { cat "$S/registry.log" >&2; exit 1; }
	sleep 0.05
done

echo "blob: $MIB MiB of random bytes; registry: $(docker-registry --version 2>&1 | head -1)"
head -c $((MIB * 1024 * 1024)) /dev/urandom >"$S/blob"
DIGEST=sha256:$(openssl dgst -sha256 -r "$S/blob" | cut -d' ' -f1)

# curl CLI reference: POST, then PUT -T with the given version flag.
curl_push() { # flag repo
	loc=$(curl -sf --cacert "$CA" "$1" -X POST -D - -o /dev/null \
		"$BASE/v2/$2/blobs/uploads/" | tr -d '\r' |
		sed -n 's/^[Ll]ocation: //p')
	case $loc in /*) loc=$BASE$loc ;; esac
	t0=$(date +%s.%N)
	code=$(curl -s --cacert "$CA" "$1" -T "$S/blob" -o /dev/null \
		-w '%{http_code} %{http_version}' "$loc&digest=$DIGEST")
	t1=$(date +%s.%N)
	[ "${code%% *}" = 201 ] || { echo "curl PUT: $code" >&2; exit 1; }
	echo "$(echo "$t1 - $t0" | bc | sed 's/^\./0./') ${code#* }"
}

# CPU seconds the registry has used so far (utime + stime).
TCK=$(getconf CLK_TCK)
regcpu() { awk -v t="$TCK" '{printf "%.2f", ($14 + $15) / t}' /proc/$REG_PID/stat; }

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

: >"$S/results"
for run in $(seq 1 "$N"); do
	for v in 1 2; do
		# a fresh registry store each time: nothing can be deduplicated
		rm -rf "$S/data/docker"
		r0=$(regcpu)
		out=$("$S/http2-push" "$BASE" "bench/hoist-v$v-$run" "$S/blob" \
			"$DIGEST" "$CA" $v)
		r1=$(regcpu)
		set -- $out
		printf 'hoist h%s run %s: %7.3f s  (HTTP/%s, cpu: client %s s, registry %.2f s)\n' \
			$v $run $1 $2 $3 "$(echo "$r1 - $r0" | bc)"
		echo "hoist$v ${out%% *}" >>"$S/results"
		rm -rf "$S/data/docker"
		[ $v = 1 ] && flag=--http1.1 || flag=--http2
		out=$(curl_push $flag "bench/curl-v$v-$run")
		set -- $out
		printf 'curl  h%s run %s: %7.3f s  (HTTP/%s)\n' $v $run $1 $2
		echo "curl$v ${out%% *}" >>"$S/results"
	done
done

echo
for who in hoist curl; do
	m1=$(awk -v k=${who}1 '$1 == k {print $2}' "$S/results" | median)
	m2=$(awk -v k=${who}2 '$1 == k {print $2}' "$S/results" | median)
	printf '%-5s median h1 %6.3f s (%5.0f MB/s)   h2 %6.3f s (%5.0f MB/s)   h2/h1 time %.2f\n' \
		$who "$m1" "$(echo "$MIB * 1.048576 / $m1" | bc -l)" \
		"$m2" "$(echo "$MIB * 1.048576 / $m2" | bc -l)" \
		"$(echo "$m2 / $m1" | bc -l)"
done
