#!/bin/sh
# mirror.sh: registries.conf (containers-registries.conf(5) v2) as podman
# and skopeo users have it, against real docker-registry instances on
# loopback (an origin with TLS, a mirror speaking plain http):
#  - a pull of docker.io/library/NAME:TAG served by a loopback mirror with
#    no internet (the first mirror listed is down, so the next is tried);
#  - a mirror in front of an origin: the mirror serves a pull (its image
#    differs, so the digest tells who answered); an image only the origin
#    has comes from the origin; with the mirror down the origin serves;
#    mirror-by-digest-only keeps tag pulls on the origin; a push goes to
#    the origin, never to the mirror;
#  - prefix/location rewriting; insecure for an untrusted TLS registry;
#  - blocked registries refused for push and pull with one error line
#    naming the file and line, nothing at the destination;
#  - a drop-in in ~/.config/containers/registries.conf.d replaces the main
#    file's entry with the same prefix;
#  - a broken file is one error line with file, line and why, exit 1.
. "$(dirname "$0")/lib.sh"
need docker-registry skopeo curl python3 jq timeout openssl
. "$(dirname "$0")/registry.sh"
need_hoist_push
push_env
unset CONTAINERS_REGISTRIES_CONF

S=$T_TMP
H="timeout 120 $HOIST"
export HOME=$S/home
mkdir -p "$S/tree/etc" "$S/tree2/etc" "$HOME"
echo mirrored >"$S/tree/etc/hostname"
echo other >"$S/tree2/etc/hostname"
check "build app:1 and app:2 into the store" sh -c "
	$HOIST build --rootfs '$S/tree' -t app:1 -o type=image &&
	$HOIST build --rootfs '$S/tree2' -t app:2 -o type=image"
APP1=$(store_digest app:1)
APP2=$(store_digest app:2)
check "loopback mirror registry starts (plain http)" reg_start_plain M
check "origin registry starts (TLS)" reg_start_tls O
reg_certs_d O "$HOIST_CERTS_D"
check "the mirror holds library/app:1" $H push --progress quiet app:1 "$M_ADDR/hub/library/app:1"
DOWN=127.0.0.1:$(reg_free_port)

# pulled DIR: the digest of the image copied into the OCI layout DIR
pulled() { jq -r '.manifests[0].digest' "$1/index.json"; }
# pull_gives DESC REF DIGEST: copy docker://REF into a new OCI layout; its
# image must be DIGEST (the images differ, so this tells who answered)
PN=0
pull_gives() {
	PN=$((PN + 1))
	check "$1" sh -c "$H copy --progress quiet 'docker://$2' 'oci:$S/p$PN:1' &&
		test \"\$(jq -r '.manifests[0].digest' '$S/p$PN/index.json')\" = '$3'"
}

cat >"$S/hub.conf" <<CONF
unqualified-search-registries = ["docker.io"]

[[registry]]
prefix = "docker.io"
location = "docker.io"
hoist-does-not-know-this = 1

[[registry.mirror]]
location = "$DOWN"

[[registry.mirror]]
location = "$M_ADDR/hub/"

[aliases]
"app" = "docker.io/library/app"
CONF
export CONTAINERS_REGISTRIES_CONF="$S/hub.conf"
HOIST_ROOT=$S/store2 $H copy --progress plain "docker://docker.io/library/app:1" \
	"oci:$S/hub:1" >"$S/hub.log" 2>&1
check "a pull of docker.io/library/app:1 succeeds with no internet" test $? -eq 0
check "it was served by the loopback mirror" \
	grep -q "pulling through mirror '$M_ADDR'" "$S/hub.log"
check "after the first mirror, down, was skipped" \
	grep -q "mirror '$DOWN/library/app:1' skipped: " "$S/hub.log"
check "the image is the one the mirror holds" test "$(pulled "$S/hub")" = "$APP1"
check "the unknown key is warned about once, with its line" sh -c "
	test \$(grep -c \"line 6: key 'hoist-does-not-know-this' is ignored\" '$S/hub.log') -eq 1"
check_fails "keys hoist leaves to other tools are not warned about" \
	grep -q "unqualified-search-registries\|aliases" "$S/hub.log"

# a mirror in front of an origin: the mirror's lib/app:1 is app:2's image
unset CONTAINERS_REGISTRIES_CONF
check "the origin holds lib/app:1 and lib/only:1" sh -c "
	$H push --progress quiet app:1 '$O_ADDR/lib/app:1' &&
	$H push --progress quiet app:1 '$O_ADDR/lib/only:1'"
check "the mirror holds another image as cache/app:1" \
	$H push --progress quiet app:2 "$M_ADDR/cache/app:1"
cat >"$S/origin.conf" <<CONF
[[registry]]
prefix = "$O_ADDR/lib"
location = "$O_ADDR/lib"

[[registry.mirror]]
location = "$M_ADDR/cache"

[[registry]]
prefix = "rewrite.example/team"
location = "$O_ADDR/lib"
CONF
export CONTAINERS_REGISTRIES_CONF="$S/origin.conf"
pull_gives "a pull is served by the mirror (its image)" "$O_ADDR/lib/app:1" "$APP2"
pull_gives "an image the mirror lacks comes from the origin" \
	"$O_ADDR/lib/only:1" "$APP1"
# the rewritten name is not looked up again: no mirror for it
pull_gives "prefix/location: rewrite.example/team/app:1 is read from the origin" \
	"rewrite.example/team/app:1" "$APP1"
check "a registry-to-registry copy (streamed) reads the mirror too" \
	$H copy --progress quiet "docker://$O_ADDR/lib/app:1" "docker://$O_ADDR/copied/app:1"
check "(the destination holds the mirror's image)" test "$(remote_digest \
	"$O_ADDR/copied/app:1" --cert-dir "$O_CERTS")" = "$APP2"
N0=$(reg_log_lines M)
check "a push to the origin's prefix" \
	$H push --progress quiet app:2 "$O_ADDR/lib/pushed:1"
check "lands on the origin" test "$(remote_digest "$O_ADDR/lib/pushed:1" \
	--cert-dir "$O_CERTS")" = "$APP2"
check_fails "and never on the mirror" sh -c "
	tail -n +$((N0 + 1)) '$M_LOG' | grep -q pushed"
check_fails "(the mirror has no such repository)" \
	skopeo inspect --raw --tls-verify=false "docker://$M_ADDR/cache/pushed:1"

cat >"$S/digest.conf" <<CONF
[[registry]]
location = "$O_ADDR/lib"
mirror-by-digest-only = true

[[registry.mirror]]
location = "$M_ADDR/cache"
CONF
export CONTAINERS_REGISTRIES_CONF="$S/digest.conf"
pull_gives "mirror-by-digest-only: a pull by tag goes to the origin" \
	"$O_ADDR/lib/app:1" "$APP1"
pull_gives "a pull by a digest only the mirror has is served by the mirror" \
	"$O_ADDR/lib/app@$APP2" "$APP2"

export CONTAINERS_REGISTRIES_CONF="$S/origin.conf"
reg_stop M
$H copy --progress plain "docker://$O_ADDR/lib/app:1" "oci:$S/m4:1" >"$S/down.log" 2>&1
check "with the mirror down a pull succeeds" test $? -eq 0
check "from the origin" test "$(pulled "$S/m4")" = "$APP1"
check "saying the mirror was skipped" \
	grep -q "mirror '$M_ADDR/cache/app:1' skipped: " "$S/down.log"

# insecure: a TLS registry whose CA hoist does not trust
check "a registry with an untrusted certificate starts" reg_start_tls X
check_fails "a push to it fails without registries.conf" \
	env -u CONTAINERS_REGISTRIES_CONF $H push --progress quiet app:1 "$X_ADDR/x/app:1"
printf '[[registry]]\nlocation = "%s"\ninsecure = true\n' "$X_ADDR" >"$S/insecure.conf"
check "insecure = true in registries.conf lets it through" \
	env CONTAINERS_REGISTRIES_CONF="$S/insecure.conf" \
	$H push --progress quiet app:1 "$X_ADDR/x/app:1"

# blocked
cat >"$S/blocked.conf" <<CONF
# blocked for everything

[[registry]]
prefix = "$O_ADDR/blocked"
location = "$O_ADDR/blocked"
blocked = true
CONF
check "push to the registry before it is blocked" \
	env -u CONTAINERS_REGISTRIES_CONF $H push --progress quiet app:1 "$O_ADDR/blocked/app:1"
export CONTAINERS_REGISTRIES_CONF="$S/blocked.conf"
$H copy --progress quiet "docker://$O_ADDR/blocked/app:1" "oci:$S/never:1" >"$S/blocked.log" 2>&1
check "a pull from a blocked registry fails with exit 1" test $? -eq 1
check "with one error line naming the registry, file and line" sh -c "
	test \$(wc -l <'$S/blocked.log') -eq 1 &&
	grep -q \"error: .*registry '$O_ADDR/blocked' is blocked in '$S/blocked.conf' line 3\" '$S/blocked.log'"
check "and nothing at the destination" test ! -e "$S/never/index.json"
$H push --progress quiet app:1 "$O_ADDR/blocked/other:1" >"$S/blocked-push.log" 2>&1
check "a push to it is refused too, with exit 1" test $? -eq 1
check "(one line)" sh -c "test \$(wc -l <'$S/blocked-push.log') -eq 1 &&
	grep -q 'is blocked in' '$S/blocked-push.log'"
check "other repositories of that registry still work" \
	$H copy --progress quiet "docker://$O_ADDR/lib/only:1" "oci:$S/b2:1"

# drop-ins: ~/.config/containers/registries.conf.d replaces by prefix
mkdir -p "$HOME/.config/containers/registries.conf.d"
cat >"$HOME/.config/containers/registries.conf.d/50-unblock.conf" <<CONF
[[registry]]
prefix = "$O_ADDR/blocked"
location = "$O_ADDR/blocked"
CONF
check "a drop-in replaces the main file's entry (no longer blocked)" \
	$H copy --progress quiet "docker://$O_ADDR/blocked/app:1" "oci:$S/unblocked:1"
printf '[[registry]]\nlocation = "%s/lib"\nblocked = true\n' "$O_ADDR" \
	>"$HOME/.config/containers/registries.conf.d/60-block.conf"
check_fails "a drop-in can block too" \
	$H copy --progress quiet "docker://$O_ADDR/lib/only:1" "oci:$S/b3:1"
rm -r "$HOME/.config/containers/registries.conf.d"

# a broken file is an error, not a guess
printf '[[registry]]\nprefix = "x\n' >"$S/broken.conf"
CONTAINERS_REGISTRIES_CONF="$S/broken.conf" $H copy --progress quiet \
	"docker://$O_ADDR/lib/only:1" "oci:$S/b:1" >"$S/broken.log" 2>&1
check "a broken registries.conf fails the pull (exit 1)" test $? -eq 1
check "with one error line naming file, line and why" sh -c "
	test \$(wc -l <'$S/broken.log') -eq 1 &&
	grep -q \"'$S/broken.conf' line 2: unterminated string\" '$S/broken.log'"
printf '[[registry]]\nprefix = "https://%s"\nlocation = "%s"\n' "$O_ADDR" "$O_ADDR" >"$S/scheme.conf"
CONTAINERS_REGISTRIES_CONF="$S/scheme.conf" $H push --progress quiet app:1 \
	"$O_ADDR/lib/x:1" >"$S/scheme.log" 2>&1
check "a location with https:// fails the push too, saying why" sh -c "
	test \$(wc -l <'$S/scheme.log') -eq 1 &&
	grep -q \"line 1: 'prefix' is .*without http:// or https://\" '$S/scheme.log'"
CONTAINERS_REGISTRIES_CONF="$S/missing.conf" $H copy --progress quiet \
	"docker://$O_ADDR/lib/only:1" "oci:$S/b4:1" >"$S/missing.log" 2>&1
check "a CONTAINERS_REGISTRIES_CONF that does not exist is an error" sh -c "
	test \$(wc -l <'$S/missing.log') -eq 1 && grep -q 'missing.conf' '$S/missing.log'"

done_testing
