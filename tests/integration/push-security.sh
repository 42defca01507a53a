#!/bin/sh
# push-security.sh: credentials never reach another host. faultproxy.py
# logs, for every request, whether an Authorization header came and a
# short SHA-256 of it; the tests compare those logs across origins.
#  - A registry whose upload Locations name another origin (X-Forwarded-Host
#    set by the proxy, testbed.md 2.1): the other origin must not get the
#    Basic credentials or the Bearer tokens the registry got.
#  - A token realm on another host and port (as GitLab's) gets the
#    registry's credentials; an http realm for an https registry is refused.
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

# 2. Bearer: same shape in front of the token registry
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

# 3. token realms on another host, as Docker and containerd follow them:
# the registry addressed as 127.0.0.1:PORT names its realm on
# localhost:OTHERPORT (another name and another port); hoist sends alice's
# credentials there and the push works. An https registry whose realm is
# plain http is refused before anything is sent to the realm.
K_IP=$K_ADDR
check "hoist login for the registry by IP" sh -c "
	printf s3cret | env DOCKER_CONFIG='$S/dip' $H login -u alice --password-stdin '$K_IP'"
tb=$(grep -c '"basic": true' "$K_TOKEN_LOG")
check "push to 127.0.0.1:PORT with its realm on localhost:OTHERPORT" \
	env DOCKER_CONFIG="$S/dip" $H push --ca-cert "$K_CA" app:1 "$K_IP/realm/app:1"
check "the realm got alice's credentials and issued a push token" sh -c "
	test \$(grep -c '\"basic\": true' '$K_TOKEN_LOG') -gt $tb &&
	tail -n 5 '$K_TOKEN_LOG' | grep '\"user\": \"alice\"' | grep -q push"
check "skopeo reads it back with alice's credentials" \
	readback_ok "$(store_digest app:1)" "$K_IP/realm/app:1" --src-cert-dir "$K_CERTS" --src-creds alice:s3cret
check "hoist pulls it back the same way (copy to an oci layout)" \
	env DOCKER_CONFIG="$S/dip" $H copy --progress quiet --ca-cert "$K_CA" \
	"docker://$K_IP/realm/app:1" "oci:$S/realm-oci:1"
check "the pull read what was pushed" sh -c "
	jq -r '.manifests[0].digest' '$S/realm-oci/index.json' | grep -qx '$(store_digest app:1)'"
check_fails "a wrong password is refused by that realm" sh -c "
	printf wrong | env DOCKER_CONFIG='$S/dipw' $H login -u alice --password-stdin '$K_IP' &&
	env DOCKER_CONFIG='$S/dipw' $H push --ca-cert '$K_CA' app:1 '$K_IP/realm/wrong:1'"
REG_TOKEN_HTTP=1 reg_start_token KH >"$S/kh.log" 2>&1 ||
	not_ok "token registry with an http realm did not start"
th=$(grep -c . "$KH_TOKEN_LOG")
check_fails "an http realm for an https registry is refused" sh -c "
	printf s3cret | env DOCKER_CONFIG='$S/dkh' $H login -u alice --password-stdin '$KH_ADDR' &&
	env DOCKER_CONFIG='$S/dkh' $H push --ca-cert '$KH_CA' app:1 '$KH_ADDR/realm/app:1' >'$S/kh-push.log' 2>&1"
check "the error names the realm and the rule" \
	grep -q "refused token realm 'http://localhost:.*/token': plain http for an https registry" "$S/kh-push.log"
check "the http realm was never asked" test "$(grep -c . "$KH_TOKEN_LOG")" -eq "$th"

# 4. a registry that answers /v2/ with 200 and challenges only later: the
# blob requests of a push all meet their first 401 at once, and every one
# of them must be retried with the token the first fetched
check "a front proxy answering /v2/ itself (no challenge at the ping)" \
	proxy_start_tls KP "$K_ADDR" --ping-ok
mkdir -p "$S/tree2/a" "$S/tree2/b"
for i in 1 2 3 4 5 6; do head -c 30000 /dev/urandom >"$S/tree2/a/f$i"; done
check "build a second image" $HOIST build --rootfs "$S/tree2" -t app:2 -o type=image
check "hoist login for the proxy's address" sh -c "
	printf s3cret | env DOCKER_CONFIG='$S/dkp' $H login -u alice --password-stdin '$KP_ADDR'"
tc=$(grep -c . "$K_TOKEN_LOG")
for run in 1 2 3; do
	check "push $run through it: concurrent first 401s all retried" \
		env DOCKER_CONFIG="$S/dkp" $H push --ca-cert "$K_CA" --max-concurrent 4 \
		app:2 "$KP_ADDR/race$run/app:2"
done
n401=$(jq -s '[.[] | select(.status == 401 and .method != "GET")] | length' "$KP_LOG")
if [ "$n401" -ge 2 ]; then ok "the blob requests met $n401 challenges"; else not_ok "only $n401 challenged blob requests: the test is not live"; fi
tf=$(($(grep -c . "$K_TOKEN_LOG") - tc))
if [ "$tf" -le 6 ]; then ok "$tf token fetches for 3 pushes (shared, not one per request)"; else not_ok "$tf token fetches for 3 pushes"; fi

# 5. credentials stored for one registry stay with it
check "TLS registry without auth starts" reg_start_tls TS
check "a logging proxy in front of it" proxy_start_tls TP "$TS_ADDR"
check "push there with alice logged in elsewhere" \
	$H push --ca-cert "$TS_CA" app:1 "$TP_ADDR/s/app:1"
check_fails "the unrelated registry never got an Authorization header" \
	grep -q '"auth": "' "$TP_LOG"
check "and the push really went there" grep -q '"method": "PUT"' "$TP_LOG"

# 6. option values reach the terminal quoted, never as raw escape bytes
for o in "--http-version" "--timeout" "--ca-cert"; do
	$HOIST push "$o" "$(printf 'x\033[31m\007')" app:1 127.0.0.1:1/x:1 >"$S/esc.log" 2>&1
	if grep -q "$(printf '\033')" "$S/esc.log" || grep -q "$(printf '\007')" "$S/esc.log" ||
		! grep -q 'x\\x1b\[31m\\x07' "$S/esc.log"; then
		not_ok "$o: a control byte in the value is printed raw or lost"
		sed 's/^/# /' "$S/esc.log" | cat -v
	else
		ok "$o: a control byte in the value is printed as \\x1b"
	fi
done

done_testing
