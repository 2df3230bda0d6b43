#!/usr/bin/env bash
# galera.sh - a three-server MariaDB Galera cluster on 127.0.0.1 for the
# nodes tests (galera-4 and mariadb-server from Debian, rsync for the state
# transfer), every file under DIR:
#
#   galera.sh start DIR      bootstraps server 1, joins 2 and 3, makes the
#                            scriptorch database and user; prints the
#                            servers as [database] host takes them
#   galera.sh hosts DIR      prints that list again
#   galera.sh kill DIR N     SIGKILLs server N (1..3): a server lost
#   galera.sh status DIR N   wsrep_cluster_size and wsrep_ready of server N
#   galera.sh stop DIR       stops what is left
#
# Failure detection is shortened (evs.suspect_timeout 3 s, not 5 s):
# while a dead member is not yet evicted, commits wait for it, and the
# tests' scriptorch nodes run with a heartbeat timeout well above that
# (docs/scale-out.md says the same for production).
set -euo pipefail
. "$(dirname "$0")/../../dev/lib.sh"

DIR=${2:?usage: galera.sh start|hosts|kill|status|stop DIR [N]}
PROVIDER=/usr/lib/galera/libgalera_smm.so

srv() { echo "$DIR/g$1"; }
port_of() { cat "$(srv "$1")/ports" | cut -d' ' -f"$2"; }
cli() { mariadb --no-defaults --socket="$(srv "$1")/mysql.sock" -uroot "${@:2}"; }

start_server() {
	local n=$1 d new=${2:-} addr="" i
	d=$(srv "$n")
	for i in 1 2 3; do
		addr="$addr${addr:+,}127.0.0.1:$(port_of "$i" 2)"
	done
	mariadbd --no-defaults --user=root --datadir="$d/data" \
		--socket="$d/mysql.sock" --port="$(port_of "$n" 1)" \
		--bind-address=127.0.0.1 --pid-file="$d/mariadbd.pid" \
		--log-error="$d/error.log" --skip-name-resolve \
		--innodb-buffer-pool-size=64M --innodb-log-file-size=16M \
		--max-connections=500 \
		--binlog-format=ROW --default-storage-engine=InnoDB \
		--log-bin-trust-function-creators=1 \
		--innodb-autoinc-lock-mode=2 --innodb-flush-log-at-trx-commit=2 \
		--wsrep-on=ON --wsrep-provider="$PROVIDER" \
		--wsrep-cluster-name=scriptorch-test \
		--wsrep-cluster-address="gcomm://$addr" \
		--wsrep-node-name="g$n" \
		--wsrep-node-address="127.0.0.1:$(port_of "$n" 2)" \
		--wsrep-node-incoming-address="127.0.0.1:$(port_of "$n" 1)" \
		--wsrep-provider-options="base_port=$(port_of "$n" 2);ist.recv_addr=127.0.0.1:$(port_of "$n" 3);gcache.size=32M;evs.suspect_timeout=PT3S;evs.inactive_timeout=PT10S;evs.install_timeout=PT7.5S" \
		--wsrep-sst-method=rsync \
		--wsrep-sst-receive-address="127.0.0.1:$(port_of "$n" 4)" \
		$new >"$d/mariadbd.out" 2>&1 &
}

# Waits until server N is synced (wsrep_ready ON) in a cluster of `want`.
wait_synced() {
	local n=$1 want=$2 i st
	for i in $(seq 1 600); do
		st=$(cli "$n" -N -e "SELECT GROUP_CONCAT(VARIABLE_VALUE ORDER BY VARIABLE_NAME) FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME IN ('wsrep_cluster_size','wsrep_ready')" 2>/dev/null || true)
		[ "$st" = "$want,ON" ] && return 0
		sleep 0.1
	done
	tail -30 "$(srv "$n")/error.log" >&2
	die "galera server $n did not join (status: ${st:-none})"
}

hosts() {
	echo "127.0.0.1:$(port_of 1 1),127.0.0.1:$(port_of 2 1),127.0.0.1:$(port_of 3 1)"
}

case "$1" in
start)
	[ -x "$PROVIDER" ] || [ -f "$PROVIDER" ] || die "no $PROVIDER (apt-get install galera-4)"
	mkdir -p "$DIR"
	for n in 1 2 3; do
		d=$(srv "$n")
		mkdir -p "$d"
		echo "$(free_port) $(free_port) $(free_port) $(free_port)" >"$d/ports"
	done
	mariadb-install-db --no-defaults --user=root --datadir="$(srv 1)/data" \
		--auth-root-authentication-method=normal --skip-test-db \
		>"$DIR/install.log" 2>&1 || { tail "$DIR/install.log" >&2; die "mariadb-install-db failed"; }
	# Server 1 founds the cluster and gets the database and its user;
	# the others join with an empty data dir and take the state by
	# rsync, whose daemon runs as nobody: their data dirs are its own
	# (they live under the test's private state dir).
	start_server 1 --wsrep-new-cluster
	wait_synced 1 1
	cli 1 -e "CREATE DATABASE IF NOT EXISTS scriptorch CHARACTER SET utf8mb4;
		CREATE USER IF NOT EXISTS 'scriptorch'@'127.0.0.1' IDENTIFIED BY '$DB_PASSWORD';
		CREATE USER IF NOT EXISTS 'scriptorch'@'localhost' IDENTIFIED BY '$DB_PASSWORD';
		GRANT ALL ON scriptorch.* TO 'scriptorch'@'127.0.0.1';
		GRANT ALL ON scriptorch.* TO 'scriptorch'@'localhost';"
	for n in 2 3; do
		mkdir -p -m 0777 "$(srv "$n")/data"
		chmod 0777 "$(srv "$n")/data"
		chown nobody "$(srv "$n")/data"
		start_server "$n"
		wait_synced "$n" "$n"
	done
	hosts
	;;
hosts) hosts ;;
kill)
	n=${3:?which server}
	kill -9 "$(cat "$(srv "$n")/mariadbd.pid")"
	;;
status)
	n=${3:?which server}
	cli "$n" -N -e "SELECT VARIABLE_NAME, VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME IN ('wsrep_cluster_size','wsrep_ready','wsrep_local_cert_failures','wsrep_local_bf_aborts')"
	;;
stop)
	for n in 3 2 1; do
		d=$(srv "$n")
		[ -f "$d/mariadbd.pid" ] || continue
		cli "$n" -e "SHUTDOWN" >/dev/null 2>&1 || true
		stop_pidfile "$d/mariadbd.pid"
	done
	;;
*) die "usage: galera.sh start|hosts|kill|status|stop DIR [N]" ;;
esac
