#!/bin/sh
# setup-debian.sh [--test]: install what hoist needs on Debian 12 with
# apt-get: the build dependencies, and with --test also every tool the test
# suite uses (skopeo, umoci, oci-image-tool, bsdtar, git, ...). Run as root.
set -eu
BUILD="autoconf automake make gcc pkg-config libcurl4-openssl-dev libssl-dev
	libjansson-dev libzstd-dev zlib1g-dev libdeflate-dev libarchive-dev
	libcmocka-dev"
TEST="skopeo umoci oci-image-tool libarchive-tools jq python3 tar gzip zstd
	attr libcap2-bin util-linux ca-certificates pigz bc git"
PKGS=$BUILD
if [ "${1:-}" = --test ]; then
	# contrib/test-packages.txt: what the registry tests add (one a line)
	EXTRA=$(grep -v '^#' "$(dirname "$0")/test-packages.txt" 2>/dev/null | tr '\n' ' ')
	PKGS="$BUILD $TEST $EXTRA"
fi
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $PKGS >/dev/null
