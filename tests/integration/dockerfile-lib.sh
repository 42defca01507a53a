# dockerfile-lib.sh: what dockerfile.sh and dockerfile-buildkit.sh build
# from, and build_fails (source it after lib.sh, with S set).
#
# cfg DIR: the image config of the OCI layout DIR (one manifest).
cfg() {
	m=$(jq -r '.manifests[0].digest' "$1/index.json" | cut -d: -f2)
	c=$(jq -r '.config.digest' "$1/blobs/sha256/$m" | cut -d: -f2)
	cat "$1/blobs/sha256/$c"
}

# build_fails NAME EXPECTED ARGS...: `hoist build ARGS` (stdin empty)
# fails with one line holding EXPECTED, and nothing is written at the
# destination. Needs H.
build_fails() {
	_bf=$1
	_bw=$2
	shift 2
	: >"$T_LOG"
	if $H build --progress quiet -o "type=oci,dest=$S/fail-$_bf.tar" \
		"$@" >>"$T_LOG" 2>&1 </dev/null; then
		not_ok "$_bf fails (it succeeded)"
	elif [ -e "$S/fail-$_bf.tar" ]; then
		not_ok "$_bf fails but wrote its output"
	elif [ "$(grep -c . "$T_LOG")" != 1 ]; then
		not_ok "$_bf: the error is not one line"
	elif ! grep -q -- "$_bw" "$T_LOG"; then
		not_ok "$_bf: message has '$_bw'"
	else
		ok "$_bf fails in one line, nothing written: $_bw"
	fi
}

# df_fails CONTEXT NAME DOCKERFILE-TEXT EXPECTED: building the text (as
# CONTEXT/Dockerfile.NAME) fails as build_fails says.
df_fails() {
	printf '%s\n' "$3" >"$1/Dockerfile.$2"
	build_fails "$2" "$4" -f "$1/Dockerfile.$2" "$1"
}

# df_base DIR: a base image tree: users and groups, a merged /usr
# (bin -> usr/bin), a 1777 /tmp.
df_base() {
	mkdir -p "$1/etc" "$1/usr/bin" "$1/tmp"
	ln -s usr/bin "$1/bin"
	chmod 1777 "$1/tmp"
	printf 'root:x:0:0:root:/root:/bin/sh\napp:x:1234:2345::/home/app:/bin/sh\n' \
		>"$1/etc/passwd"
	printf 'root:x:0:\napp:x:2345:\nstaff:x:50:\n' >"$1/etc/group"
}

# df_context DIR: a build context: an executable, text files, logs and a
# secret that .dockerignore drops (keep.log excepted), a site with a
# 0700 directory and a symlink, a pkg.tar.gz.
df_context() {
	mkdir -p "$1/site/css" "$1/secret" "$1/arch/pkg"
	echo app >"$1/app"
	chmod 755 "$1/app"
	echo one >"$1/one.txt"
	echo two >"$1/two.txt"
	echo log >"$1/debug.log"
	echo keep >"$1/keep.log"
	echo index >"$1/site/index.html"
	echo css >"$1/site/css/main.css"
	chmod 700 "$1/site/css"
	echo nope >"$1/secret/key"
	echo inpkg >"$1/arch/pkg/file"
	ln -s index.html "$1/site/home.html"
	tar -czf "$1/pkg.tar.gz" -C "$1/arch" pkg
	rm -rf "$1/arch"
	printf 'secret\n*.log\n!keep.log\n' >"$1/.dockerignore"
}

# df_tail: the instructions both Dockerfiles end with: every config
# instruction, a WORKDIR that makes its directory, a whole stage copied.
df_tail() {
	cat <<'EOT'
WORKDIR /work/dir
USER app
EXPOSE 8080 53/udp
VOLUME ["/data"]
STOPSIGNAL SIGQUIT
HEALTHCHECK --interval=30s --timeout=5s --retries=2 CMD ["/bin/app", "ping"]
SHELL ["/bin/ash", "-c"]
ONBUILD COPY . /onbuild
ENTRYPOINT ["/bin/app"]
CMD ["serve"]
COPY --from=assets / /assets/
EOT
}
