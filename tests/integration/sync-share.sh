#!/bin/sh
# sync-share.sh: `hoist sync` shares connections and tokens between the
# images it copies. Eight tags of one repository are copied to another
# one with --jobs 2, through a counting faultproxy (TLS) in front of the
# token-auth registry: the token server's log must show one token request
# per scope set (not several per image), and the proxy fewer TCP
# connections than images; a re-run likewise, with one manifest HEAD per
# image at the destination. (Before the sharing: 17 token requests and
# 25 connections for the 8 images.)
. "$(dirname "$0")/lib.sh"
need docker-registry python3 jq timeout openssl curl skopeo
. "$(dirname "$0")/registry.sh"
push_env
export SOURCE_DATE_EPOCH=1700000000

S=$T_TMP
H="timeout 120 $HOIST"
NTAGS=8

check "token registry starts" reg_start_token K
check "a counting proxy in front of it" proxy_start_tls KX "$K_ADDR"
X=$KX_ADDR
export DOCKER_CONFIG=$S/docker
check "hoist login for the proxy's address" sh -c "
	printf s3cret | $H login -u alice --password-stdin '$X'"

mkdir -p "$S/tree"
head -c 300000 /dev/urandom >"$S/tree/data"
check "build an image" sh -c "
	$H build -q --rootfs '$S/tree' -t app:1 -o type=image >/dev/null"
i=0
while [ $i -lt $NTAGS ]; do
	i=$((i + 1))
	$H push --progress quiet --ca-cert "$K_CA" app:1 "$X/lib/app:t$i" \
		>/dev/null 2>&1 ||
		not_ok "push lib/app:t$i"
done

# a fresh staging area: every image is pulled and pushed for real
export HOIST_ROOT=$S/sync-store
cat >"$S/list" <<LIST
docker://$X/lib/app docker://$X/mirror/app t*
LIST
t0=$(grep -c . "$K_TOKEN_LOG")
proxy_reset KX
check "sync --jobs 2 copies the $NTAGS tags" sh -c "
	$H sync --progress plain --ca-cert '$K_CA' --jobs 2 '$S/list' 2>'$S/sync1' &&
	grep -qx 'sync: $NTAGS copied, 0 failed' '$S/sync1'"
conns=$(($(proxy_stats KX .connections) - 1)) # the stats query is one
tail -n +$((t0 + 1)) "$K_TOKEN_LOG" >"$S/tokens1"
tokens=$(grep -c . "$S/tokens1")
sets=$(jq -r '.scopes | sort | join(" ")' "$S/tokens1" | sort -u | grep -c .)
echo "# $NTAGS images: $tokens token requests for $sets scope sets, $conns TCP connections"
jq -c '[.scopes, .user, .status]' "$S/tokens1" | sed 's/^/#   /'
if [ "$tokens" -eq "$sets" ] && [ "$tokens" -gt 0 ]; then ok "one token request per scope set ($tokens), not per image"; else not_ok "$tokens token requests for $sets scope sets"; fi
if [ "$tokens" -lt "$NTAGS" ]; then ok "fewer token requests than images"; else not_ok "$tokens token requests for $NTAGS images"; fi
if [ "$conns" -gt 0 ] && [ "$conns" -lt "$NTAGS" ]; then ok "fewer TCP connections than images ($conns)"; else not_ok "$conns TCP connections for $NTAGS images"; fi
check "every tag arrived with the source's digest" sh -c "
	for t in \$(seq 1 $NTAGS); do
		a=\$(skopeo inspect --cert-dir '$KX_CERTS' --creds alice:s3cret \
			--format '{{.Digest}}' docker://$X/lib/app:t\$t) &&
		b=\$(skopeo inspect --cert-dir '$KX_CERTS' --creds alice:s3cret \
			--format '{{.Digest}}' docker://$X/mirror/app:t\$t) &&
		[ -n \"\$a\" ] && [ \"\$a\" = \"\$b\" ] || exit 1
	done"

# the re-run: every image is there, one manifest HEAD each
t0=$(grep -c . "$K_TOKEN_LOG")
proxy_reset KX
check "a re-run: every image CACHED" sh -c "
	$H sync --progress plain --ca-cert '$K_CA' --jobs 2 '$S/list' 2>'$S/sync2' &&
	[ \$(grep -c '^#[0-9]* CACHED\$' '$S/sync2') -eq $NTAGS ]"
tokens=$(($(grep -c . "$K_TOKEN_LOG") - t0))
conns=$(($(proxy_stats KX .connections) - 1))
heads=$(proxy_stats KX '[.log[] | select(.method == "HEAD" and (.path | test("/mirror/app/manifests/")))] | length')
pings=$(proxy_stats KX '[.log[] | select(.method == "GET" and .path == "/v2/" and .status == 200)] | length')
gets=$(proxy_stats KX '[.log[] | select(.method == "GET" and .path == "/v2/")] | length')
echo "# re-run: $tokens token requests, $conns TCP connections, $heads manifest HEADs at the destination, $pings pings"
if [ "$tokens" -lt "$NTAGS" ] && [ "$conns" -lt "$NTAGS" ]; then ok "the re-run too shares tokens and connections"; else not_ok "the re-run: $tokens tokens, $conns connections for $NTAGS images"; fi
if [ "$heads" -eq "$NTAGS" ]; then ok "one manifest HEAD per image at the destination"; else not_ok "$heads manifest HEADs for $NTAGS images"; fi
# source and destination are one registry: one ping for the run (its
# 401, then GET /v2/ with the token), its challenge shared by every
# image's endpoints (before: a ping per endpoint)
if [ "$pings" -eq 1 ] && [ "$gets" -le 2 ]; then ok "one /v2/ ping for the whole re-run (jobs 2)"; else not_ok "$pings /v2/ pings ($gets GETs) for $NTAGS images"; proxy_stats KX '.log[] | [.method, .path, .status] | @tsv' | sed 's/^/# /'; fi

done_testing
