# fileserver.sh: start tests/integration/fileserver.py (source it after
# lib.sh and registry.sh).
#
# fs_start NAME ROOT [tls]: fileserver.py on 127.0.0.1; sets NAME_URL
fs_start() {
	d=$REG_DIR/$1
	mkdir -p "$d"
	set -- "$1" "$2" "${3:-}"
	tlsargs=
	scheme=http
	if [ "$3" = tls ]; then
		reg_pki || return 1
		tlsargs="--tls-cert $REG_PKI/server.crt --tls-key $REG_PKI/server.key"
		scheme=https
	fi
	# shellcheck disable=SC2086
	_bg "$d/log" python3 "$HOIST_SRCDIR/tests/integration/fileserver.py" \
		--root "$2" --port-file "$d/port" --log "$d/requests" $tlsargs
	i=0
	while [ ! -s "$d/port" ] && [ $i -lt 200 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	[ -s "$d/port" ] || { cat "$d/log" >&2; return 1; }
	_set "$1" URL "$scheme://127.0.0.1:$(cat "$d/port")"
	_set "$1" ADDR "127.0.0.1:$(cat "$d/port")"
	reg_wait "$scheme://127.0.0.1:$(cat "$d/port")/" "$REG_BG" -k
}
