# dockerd.sh: start a scratch containerd and dockerd for a test (source it
# after lib.sh). dockerd_start DIR: both daemons on unix sockets under
# DIR only (vfs storage, no bridge, no iptables, no network), as
# reference/testbed.md section 6 describes; sets DK to a docker command
# for that daemon (DOCKER, default docker, is the client binary) and
# stops both daemons at exit. Returns non-zero if dockerd does not answer.
dockerd_start() {
	_dd=$1
	mkdir -p "$_dd/ctd" "$_dd/dk"
	cat >"$_dd/ctd/config.toml" <<EOT
version = 2
root = "$_dd/ctd/root"
state = "$_dd/ctd/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$_dd/ctd/containerd.sock"
[ttrpc]
  address = "$_dd/ctd/containerd.sock.ttrpc"
[debug]
  address = "$_dd/ctd/debug.sock"
[metrics]
  address = ""
EOT
	cat >"$_dd/dk/daemon.json" <<EOT
{"data-root":"$_dd/dk/data","exec-root":"$_dd/dk/exec","pidfile":"$_dd/dk/dockerd.pid",
 "hosts":["unix://$_dd/dk/docker.sock"],"storage-driver":"vfs","iptables":false,
 "ip6tables":false,"ip-masq":false,"bridge":"none",
 "containerd":"$_dd/ctd/containerd.sock"}
EOT
	containerd --config "$_dd/ctd/config.toml" >"$_dd/ctd/log" 2>&1 &
	CTD=$!
	_i=0
	while [ ! -S "$_dd/ctd/containerd.sock" ] && [ $_i -lt 100 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	dockerd --config-file "$_dd/dk/daemon.json" >"$_dd/dk/log" 2>&1 &
	DKD=$!
	trap 'kill $DKD $CTD 2>/dev/null; wait $DKD $CTD 2>/dev/null; t_cleanup' EXIT
	DK="${DOCKER:-docker} -H unix://$_dd/dk/docker.sock"
	_i=0
	while ! $DK version >/dev/null 2>&1 && [ $_i -lt 150 ]; do
		sleep 0.2
		_i=$((_i + 1))
	done
	$DK version >/dev/null 2>&1
}
