#!/bin/sh
# mirror.sh: registries.conf (containers-registries.conf(5) v2) as podman
# and skopeo users have it: a pull of docker.io/library/NAME:TAG served by
# a loopback mirror with no internet (the first mirror listed is down, so
# the next one is tried), a blocked registry refused for push and pull,
# and unknown keys warned about once each.
. "$(dirname "$0")/lib.sh"
need docker-registry skopeo curl python3 jq timeout
. "$(dirname "$0")/registry.sh"
need_hoist_push
push_env

S=$T_TMP
H="timeout 120 $HOIST"
mkdir -p "$S/tree/etc"
echo mirrored >"$S/tree/etc/hostname"
check "build app:1 into the store" $HOIST build --rootfs "$S/tree" -t app:1 -o type=image
APP=$(store_digest app:1)
check "loopback mirror registry starts" reg_start_plain M
check "the mirror holds library/app:1" $H push --progress quiet app:1 "$M_ADDR/hub/library/app:1"
DOWN=127.0.0.1:$(reg_free_port)
cat >"$S/registries.conf" <<CONF
unqualified-search-registries = ["docker.io"]

[[registry]]
prefix = "docker.io"
location = "docker.io"
hoist-does-not-know-this = 1

[[registry.mirror]]
location = "$DOWN"

[[registry.mirror]]
location = "$M_ADDR/hub"

[[registry]]
prefix = "$M_ADDR/blocked"
blocked = true

[aliases]
"app" = "docker.io/library/app"
CONF
export CONTAINERS_REGISTRIES_CONF="$S/registries.conf"
HOIST_ROOT=$S/store2 $H copy --progress plain "docker://docker.io/library/app:1" \
	"oci:$S/pulled:1" >"$S/pull.log" 2>&1
check "a pull of docker.io/library/app:1 succeeds with no internet" test $? -eq 0
check "it was served by the loopback mirror" \
	grep -q "pulling through mirror '$M_ADDR'" "$S/pull.log"
check "after the first mirror, down, was skipped" grep -q "mirror skipped" "$S/pull.log"
check "the image is the one the mirror holds" sh -c "
	jq -r '.manifests[0].digest' '$S/pulled/index.json' | grep -qx '$APP'"
check "the unknown key is warned about once, with its line" sh -c "
	test \$(grep -c \"line 6: key 'hoist-does-not-know-this' is ignored\" '$S/pull.log') -eq 1"
check_fails "keys hoist leaves to other tools are not warned about" \
	grep -q "unqualified-search-registries\|aliases" "$S/pull.log"

unset CONTAINERS_REGISTRIES_CONF
check "push to the registry before it is blocked" \
	$H push --progress quiet app:1 "$M_ADDR/blocked/app:1"
export CONTAINERS_REGISTRIES_CONF="$S/registries.conf"
$H copy "docker://$M_ADDR/blocked/app:1" "oci:$S/never:1" >"$S/blocked.log" 2>&1
check "a pull from a blocked registry fails" test $? -eq 1
check "with one clear error line" sh -c "
	test \$(grep -c 'error:' '$S/blocked.log') -eq 1 &&
	grep -q \"registry '$M_ADDR/blocked' is blocked in registries.conf\" '$S/blocked.log'"
check "and nothing at the destination" test ! -e "$S/never/index.json"
check_fails "a push to it is refused too" \
	$H push --progress quiet app:1 "$M_ADDR/blocked/other:1"
printf '[[registry]]\nprefix = "x\n' >"$S/broken.conf"
CONTAINERS_REGISTRIES_CONF="$S/broken.conf" $H copy --progress quiet \
	"docker://$M_ADDR/hub/library/app:1" "oci:$S/b:1" >"$S/broken.log" 2>&1
check "a broken registries.conf is one warning naming file and line" \
	grep -q "warning: registries.conf: '$S/broken.conf' line 2: unterminated string" "$S/broken.log"

done_testing
