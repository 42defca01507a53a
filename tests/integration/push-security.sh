#!/bin/sh
# push-security.sh: credentials never reach another host. faultproxy.py
# logs, for every request, whether an Authorization header came and a
# short SHA-256 of it; the tests compare those logs across origins.
#  - A registry whose upload Locations name another origin (X-Forwarded-Host
#    set by the proxy, testbed.md 2.1): the other origin must not get the
#    Basic credentials or the Bearer tokens the registry got.
#  - Credentials stored for one registry are not sent to another.
# The pushes to a foreign Location may fail or succeed; what is checked is
# where the secrets went.
. "$(dirname "$0")/lib.sh"
need docker-registry skopeo curl openssl htpasswd python3 jq timeout
. "$(dirname "$0")/registry.sh"
need_hoist_push
push_env

S=$T_TMP
H="timeout 120 $HOIST"
mkdir -p "$S/tree/etc"
echo secret-test >"$S/tree/etc/hostname"
head -c 100000 /dev/urandom >"$S/tree/etc/blob"
check "build app:1 into the store" $HOIST build --rootfs "$S/tree" -t app:1 -o type=image
BASIC="Basic $(printf alice:s3cret | base64)"
BASIC_SHA=$(printf '%s' "$BASIC" | sha256sum | cut -c1-16)

# auth_shas LOG: the distinct Authorization hashes in a proxy's log
auth_shas() { jq -r 'select(.auth_sha256 != null) | .auth_sha256' "$1" | sort -u; }

# 1. Basic: the registry's Locations point at another origin
check "htpasswd registry starts" reg_start_htpasswd B alice s3cret
check "the other origin (a logging proxy to the same registry) starts" \
	proxy_start_tls BO "$B_ADDR"
BO_PORT=${BO_ADDR#*:}
check "the registry's front proxy, sending X-Forwarded-Host of the other origin" \
	proxy_start_tls BA "$B_ADDR" --forwarded-host "localhost:$BO_PORT"
check "its upload Locations name the other origin" sh -c "
	curl -s -i --max-time 10 --cacert '$B_CA' -u alice:s3cret -X POST \
		'https://$BA_ADDR/v2/s/probe/blobs/uploads/' | tr -d '\r' |
	grep -q '^Location: https://localhost:$BO_PORT/v2/s/probe/blobs/uploads/'"
proxy_reset BO
: >"$BO_LOG"
: >"$BA_LOG"
check "hoist login for the registry" sh -c "
	printf s3cret | $H login -u alice --password-stdin '$BA_ADDR'"
$H push --ca-cert "$B_CA" app:1 "$BA_ADDR/s/app:1" >"$S/push-b.log" 2>&1
echo "# push with a foreign Location: rc $?, $(grep -c . "$BO_LOG") requests at the other origin"
check "the registry got alice's Basic credentials (the test is live)" \
	grep -q "\"auth_sha256\": \"$BASIC_SHA\"" "$BA_LOG"
check_fails "the other origin never got an Authorization header" \
	grep -q '"auth": "' "$BO_LOG"

# 2. Bearer: same shape in front of the token registry; hoist talks to
# "localhost" (the realm's host) so it sends alice's credentials there
check "token registry starts" reg_start_token K
check "the other origin for the token registry starts" proxy_start_tls KO "$K_ADDR"
KO_PORT=${KO_ADDR#*:}
check "the token registry's front proxy starts" \
	proxy_start_tls KA "$K_ADDR" --forwarded-host "localhost:$KO_PORT"
KA_L=localhost:${KA_ADDR#*:}
check "hoist login for the token registry" sh -c "
	printf s3cret | env DOCKER_CONFIG='$S/dck' $H login -u alice --password-stdin '$KA_L'"
env DOCKER_CONFIG="$S/dck" $H push --ca-cert "$K_CA" app:1 "$KA_L/s/app:1" \
	>"$S/push-k.log" 2>&1
echo "# token push with a foreign Location: rc $?, $(grep -c . "$KO_LOG") requests at the other origin"
auth_shas "$KA_LOG" >"$S/ka-shas"
auth_shas "$KO_LOG" >"$S/ko-shas"
check "the registry got Bearer tokens (the test is live)" \
	grep -q '"auth": "Bearer"' "$KA_LOG"
check "alice's token was issued for a push" sh -c "
	grep '\"user\": \"alice\"' '$K_TOKEN_LOG' | grep -q push"
n=$(comm -12 "$S/ka-shas" "$S/ko-shas" | grep -c .)
if [ "$n" -eq 0 ]; then ok "no token the registry got reached the other origin"; else not_ok "$n Authorization values reached the other origin"; fi
check_fails "the other origin never got alice's Basic credentials" \
	grep -q "\"auth_sha256\": \"$BASIC_SHA\"" "$KO_LOG"
check_fails "the other origin never got Basic credentials at all" \
	grep -q '"auth": "Basic"' "$KO_LOG"

# 3. credentials stored for one registry stay with it
check "TLS registry without auth starts" reg_start_tls TS
check "a logging proxy in front of it" proxy_start_tls TP "$TS_ADDR"
check "push there with alice logged in elsewhere" \
	$H push --ca-cert "$TS_CA" app:1 "$TP_ADDR/s/app:1"
check_fails "the unrelated registry never got an Authorization header" \
	grep -q '"auth": "' "$TP_LOG"
check "and the push really went there" grep -q '"method": "PUT"' "$TP_LOG"

done_testing
