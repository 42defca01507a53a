#!/bin/sh
# compare.sh [MIB]: hoist against skopeo on every job of issue 10, in one
# run, the two tools taking turns (hoist's run r, skopeo's run r, the next
# job, ...), so load that comes and goes on the machine hits both alike.
#
# Input: a copy of a real tree (TREE=DIR, e.g. /usr/lib/x86_64-linux-gnu),
# else bench/gen-tree.py's tree of MIB MiB (default 256; half random, half
# text). Registries: docker-registry 2.8 on loopback, R plain HTTP (W1, W1z,
# W4), SRC and DST with TLS (W2, W3 read from SRC).
#   W1   tree -> registry, gzip. hoist: build -o type=registry from a fresh
#        staging area; skopeo: an uncompressed OCI layout of the tree,
#        gzipped while pushing (--dest-compress-format gzip)
#   W1z  the same with zstd
#   W1/1 W1 at compression-level=1 (skopeo: --dest-compress-level 1)
#   W2   registry -> registry, TLS on both ends, fresh target repository
#        and staging area each run
#   W3   registry (TLS) -> docker-archive
#   W4   W1 again with everything present (hoist: its staging area and
#        build cache are warm; skopeo: the layout again)
#   W5   hoist only: rebuild the unchanged tree into the staging area (no
#        push), against a cold build (--no-cache) of the same tree
# Every run's result is checked before anything is reported: the pushed
# manifest's bytes hash to the digest the tool reported (and W2 keeps the
# source's digest, W3's archive holds the source's config, W4/W5 give W1's
# digests again). Prints per job the medians of RUNS runs (default 3), the
# ratio skopeo/hoist (> 1: hoist faster), the peak RSS of each tool
# (GNU time's maximum resident set size, the largest process of the job)
# and the layer sizes, plus the load average before and after. PERF=1
# adds a profile of one more hoist run of W1, W2 and W4 (perf record).
# Needs: docker-registry, skopeo, python3, jq, curl, bc, tar, /usr/bin/time.
MIB=${1:-256}
BENCH_TOOLS="docker-registry skopeo python3 jq curl bc tar /usr/bin/time"
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
"$HOIST" build --help 2>/dev/null | grep -q -- --no-cache ||
	die "'$HOIST' has no build cache (set HOIST=)"
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
bench_tree
NFILES=$(find "$W/tree" -type f | wc -l)
sleep 1 # the build cache trusts no entry as new as the build (racy-git)

reg_start_plain R || die "registry R did not start"
reg_start_tls SRC || die "registry SRC did not start"
reg_start_tls DST || die "registry DST did not start"
CA=$(_get SRC CA)
CERTS=$(_get SRC CERTS) # a directory holding ca.crt, for skopeo
SKC="skopeo --insecure-policy"
SKR="--dest-tls-verify=false"

echo "# the uncompressed layout for skopeo and the W2/W3 source image"
HOIST_ROOT="$W/prep" "$HOIST" build --rootfs "$W/tree" -t bench/c:1 \
	-o "type=oci,tar=false,dest=$W/raw,compression=uncompressed" \
	-o type=image >/dev/null 2>&1 || die "hoist build (layout) failed"
HOIST_ROOT="$W/prep" "$HOIST" push --ca-cert "$CA" bench/c:1 \
	"$SRC_ADDR/bench/src:1" >/dev/null 2>&1 || die "push to SRC failed"
SRCREF="docker://$SRC_ADDR/bench/src:1"
SRCDIG=$(HOIST_ROOT="$W/prep" "$HOIST" inspect bench/c:1 |
	jq -r .descriptor.digest)
SRCCFG=$(HOIST_ROOT="$W/prep" "$HOIST" inspect bench/c:1 |
	jq -r '.images[0].manifest.config.digest')

# run ID CMD: one timed run; appends "ID seconds maxrss-KiB" to W/times
# and prints it as a comment line
run() {
	if ! /usr/bin/time -f '%e %M' -o "$W/time.out" sh -c "$2" \
		>"$W/last.log" 2>&1; then
		tail -n 20 "$W/last.log" >&2
		die "failed: $2"
	fi
	echo "$1 $(tail -n 1 "$W/time.out")" >>"$W/times"
	echo "# $1 $(tail -n 1 "$W/time.out") (s, KiB)" # each run, for the spread
}

# pushed REF DIGEST: the manifest at REF hashes to DIGEST
pushed() {
	d=$(remote_digest "$1" --tls-verify=false --cert-dir "$CERTS") &&
		[ "$d" = "$2" ] ||
		die "$1 is not $2 (got ${d:-nothing})"
}
# meta_digest FILE: containerimage.digest of a metadata file
meta_digest() { jq -r '."containerimage.digest"' "$1"; }
# layer_sizes REF: the layer sizes of the manifest at REF
layer_sizes() {
	$SKC inspect --raw --tls-verify=false "docker://$1" |
		jq '[.layers[].size] | add'
}
archive_ok() {
	c=$(tar -xOf "$1" manifest.json | jq -r '.[0].Config') &&
		case $c in *"${SRCCFG#sha256:}"*) return 0 ;; esac
	die "$1 does not hold the source's config"
}

HB="'$HOIST' build --rootfs '$W/tree' --progress quiet"
for r in $(seq 1 "$RUNS"); do
	echo "# round $r of $RUNS"
	for job in W1 W1z W1/1; do
		case $job in
		W1) ho=""; so="--dest-compress-format gzip" ;;
		W1z) ho=",compression=zstd"; so="--dest-compress-format zstd" ;;
		W1/1) ho=",compression-level=1"
			so="--dest-compress-format gzip --dest-compress-level 1" ;;
		esac
		n=$(echo "$job" | tr -d / | tr A-Z a-z) # repositories: lower case
		reg_wipe R
		rm -rf "$W/hs-$n"
		run "$job.hoist" "HOIST_ROOT='$W/hs-$n' $HB --metadata-file '$W/m-$n.json' -o 'type=registry,name=$R_ADDR/h/$n:1,registry.insecure=true$ho'"
		pushed "$R_ADDR/h/$n:1" "$(meta_digest "$W/m-$n.json")"
		run "$job.skopeo" "$SKC copy $SKR $so --digestfile '$W/d-$n' 'oci:$W/raw:1' 'docker://$R_ADDR/s/$n:1'"
		pushed "$R_ADDR/s/$n:1" "$(cat "$W/d-$n")"
		echo "$job $(layer_sizes "$R_ADDR/h/$n:1") $(layer_sizes "$R_ADDR/s/$n:1")" >>"$W/sizes"
	done
	# W4: everything present (R still holds the W1/1 push; push W1 again)
	HOIST_ROOT="$W/hs-w1" sh -c "$HB -o 'type=registry,name=$R_ADDR/h/w1:1,registry.insecure=true'" >/dev/null 2>&1 &&
		$SKC copy $SKR --dest-compress-format gzip 'oci:'"$W/raw"':1' "docker://$R_ADDR/s/w1:1" >/dev/null 2>&1 ||
		die "W4 preparation failed"
	run W4.hoist "HOIST_ROOT='$W/hs-w1' $HB --metadata-file '$W/m-W4.json' -o 'type=registry,name=$R_ADDR/h/w1:1,registry.insecure=true'"
	[ "$(meta_digest "$W/m-W4.json")" = "$(meta_digest "$W/m-w1.json")" ] ||
		die "W4 gave another digest than W1"
	pushed "$R_ADDR/h/w1:1" "$(meta_digest "$W/m-W4.json")"
	run W4.skopeo "$SKC copy $SKR --dest-compress-format gzip --digestfile '$W/d-W4' 'oci:$W/raw:1' 'docker://$R_ADDR/s/w1:1'"
	pushed "$R_ADDR/s/w1:1" "$(cat "$W/d-W4")"
	# W2 and W3 from SRC (TLS)
	reg_wipe DST
	rm -rf "$W/h2"
	run W2.hoist "HOIST_ROOT='$W/h2' '$HOIST' copy --progress quiet --ca-cert '$CA' '$SRCREF' 'docker://$DST_ADDR/h/w2:1'"
	pushed "$DST_ADDR/h/w2:1" "$SRCDIG"
	run W2.skopeo "$SKC copy --src-cert-dir '$CERTS' --dest-cert-dir '$CERTS' '$SRCREF' 'docker://$DST_ADDR/s/w2:1'"
	pushed "$DST_ADDR/s/w2:1" "$SRCDIG"
	rm -rf "$W/h3" "$W/h3.tar" "$W/s3.tar"
	run W3.hoist "HOIST_ROOT='$W/h3' '$HOIST' copy --progress quiet --ca-cert '$CA' '$SRCREF' 'docker-archive:$W/h3.tar:bench/app:1'"
	archive_ok "$W/h3.tar"
	run W3.skopeo "$SKC copy --src-cert-dir '$CERTS' '$SRCREF' 'docker-archive:$W/s3.tar:bench/app:1'"
	archive_ok "$W/s3.tar"
	# W5: an unchanged rebuild (warm cache) against a cold one
	run W5cold.hoist "HOIST_ROOT='$W/hs-w1' $HB --no-cache --metadata-file '$W/m-5c.json' -o type=image,name=w5:1"
	run W5.hoist "HOIST_ROOT='$W/hs-w1' $HB --metadata-file '$W/m-5.json' -o type=image,name=w5:1"
	[ "$(meta_digest "$W/m-5.json")" = "$(meta_digest "$W/m-5c.json")" ] ||
		die "W5 gave another digest than the cold build"
done
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

# PERF=1: one more hoist run of W1, W2 and W4 under `perf record -g`
# (after the timed rounds, so they are not slowed), each summarised as
# the top symbols of hoist's process tree (comm, shared object, symbol)
if [ -n "${PERF:-}" ] && command -v perf >/dev/null; then
	prof() {
		perf record -F 499 -g -o "$W/perf-$1.data" -- sh -c "$2" \
			>"$W/last.log" 2>&1 || die "perf run of $1 failed"
		echo "# perf: $1, top symbols (self time, hoist's processes)"
		perf report -i "$W/perf-$1.data" --stdio --no-children -g none \
			--sort comm,dso,symbol --percent-limit 2 2>/dev/null |
			grep -v '^#' | grep -v '^$' | head -n 15
	}
	reg_wipe R
	rm -rf "$W/hs-p1"
	prof W1 "HOIST_ROOT='$W/hs-p1' $HB -o 'type=registry,name=$R_ADDR/h/p1:1,registry.insecure=true'"
	prof W4 "HOIST_ROOT='$W/hs-p1' $HB -o 'type=registry,name=$R_ADDR/h/p1:1,registry.insecure=true'"
	reg_wipe DST
	rm -rf "$W/hp2"
	prof W2 "HOIST_ROOT='$W/hp2' '$HOIST' copy --progress quiet --ca-cert '$CA' '$SRCREF' 'docker://$DST_ADDR/h/p2:1'"
fi

# med ID FIELD: median of a field (2: seconds, 3: KiB) of ID's runs
med() {
	awk -v id="$1" -v f="$2" '$1 == id { print $f }' "$W/times" | sort -n |
		awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)] }'
}

printf '%s, %s; %d files, %d bytes (%d MiB), %d runs, tools taking turns\n' \
	"$(uname -n)" "$(date -u +%Y-%m-%dT%H:%MZ)" "$NFILES" "$SIZE" \
	$((SIZE / 1048576)) "$RUNS"
printf 'load average before: %s; after: %s\n' "$LOAD0" "$LOAD1"
printf '%-6s %9s %9s %14s %10s %10s\n' job "hoist s" "skopeo s" \
	"skopeo/hoist" "hoist RSS" "skopeo RSS"
for job in W1 W1z W1/1 W2 W3 W4; do
	h=$(med "$job.hoist" 2)
	s=$(med "$job.skopeo" 2)
	printf '%-6s %9.2f %9.2f %14.2f %7d MiB %7d MiB\n' "$job" "$h" "$s" \
		"$(echo "$s / $h" | bc -l)" $(($(med "$job.hoist" 3) / 1024)) \
		$(($(med "$job.skopeo" 3) / 1024))
done
h=$(med W5.hoist 2)
c=$(med W5cold.hoist 2)
printf '%-6s %9.2f %9s %14s %7d MiB\n' W5 "$h" - - $(($(med W5.hoist 3) / 1024))
printf 'W5 is %.1f%% of a cold build (%.2f s, %d MiB)\n' \
	"$(echo "$h * 100 / $c" | bc -l)" "$c" $(($(med W5cold.hoist 3) / 1024))
echo "layer bytes (last round): job hoist skopeo"
awk '{ last[$1] = $0 } END { for (j in last) print "  " last[j] }' \
	"$W/sizes" | sort
