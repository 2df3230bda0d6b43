# dev/lib.sh - shared by dev/up, dev/down and dev/test: install what is
# missing, build, and start or stop a private stack (MariaDB in a data dir
# of its own, scriptorchd, nginx) whose every file lives under $STATE.
# Sourced, not run.

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUN_USER=${SCRIPTORCH_RUN_USER:-scriptorch-run}
BUILD_USER=${SCRIPTORCH_BUILD_USER:-scriptorch-build}

say() { printf '%s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

# help_if_asked "$@": with -h or --help first, prints the calling
# script's header comment (its usage) and exits 0.
help_if_asked() {
	case "${1:-}" in
	-h | --help)
		sed -n '2,/^[^#]/{/^#/!d; s/^# \{0,1\}//; p}' "$0"
		exit 0
		;;
	esac
}

# reachable USER DIR: USER can reach DIR (search it and every directory
# above it), as a run or a build must reach the script root, the work
# dirs, the venvs and the wheelhouse.
reachable() { runuser -u "$1" -- test -x "$2" 2>/dev/null; }

# first_closed USER DIR: the first directory on the way to DIR that USER
# cannot search, with its mode ("/root (mode 700)"); nothing if none.
first_closed() {
	local p="" d
	local IFS=/
	for d in $2; do
		[ -n "$d" ] || continue
		p=$p/$d
		[ -e "$p" ] || return 0
		if ! runuser -u "$1" -- test -x "$p" 2>/dev/null; then
			printf '%s (mode %s)' "$p" "$(stat -c %a "$p")"
			return 0
		fi
	done
}

# Debian packages the build and the stack need; dev/test adds its own.
BUILD_PKGS="build-essential autoconf automake pkg-config libfcgi-dev
  libmariadb-dev libyajl-dev libmagic-dev libinih-dev libsodium-dev
  libcurl4-openssl-dev"
STACK_PKGS="mariadb-server mariadb-client nginx-light curl python3
  python3-venv python3-pip python3-setuptools python3-wheel file"

need_pkgs() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	say "installing: ${missing[*]}"
	[ "$(id -u)" = 0 ] || die "installing packages needs root"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
		die "apt-get install ${missing[*]} failed"
}

# The unprivileged user scripts run as.
ensure_run_user() {
	id -u "$RUN_USER" >/dev/null 2>&1 && return 0
	useradd --system --no-create-home --home-dir /nonexistent \
		--shell /usr/sbin/nologin "$RUN_USER" ||
		die "cannot create the run user $RUN_USER"
}

# The unprivileged user venv builds run as (never root, never the run user).
ensure_build_user() {
	id -u "$BUILD_USER" >/dev/null 2>&1 && return 0
	useradd --system --no-create-home --home-dir /nonexistent \
		--shell /usr/sbin/nologin "$BUILD_USER" ||
		die "cannot create the build user $BUILD_USER"
}

# Builds out of tree in $1 (configure only when needed).
build() {
	local b=$1
	if [ ! -x "$REPO/configure" ] || [ "$REPO/configure.ac" -nt "$REPO/configure" ] ||
		[ "$REPO/Makefile.am" -nt "$REPO/configure" ]; then
		(cd "$REPO" && ./autogen.sh >/dev/null 2>&1) || die "autogen.sh failed"
	fi
	mkdir -p "$b"
	if [ ! -f "$b/Makefile" ] || [ "$REPO/configure" -nt "$b/Makefile" ]; then
		(cd "$b" && "$REPO/configure" --enable-werror --prefix=/usr \
			--sysconfdir=/etc >"$b/configure.out" 2>&1) ||
			{ tail -20 "$b/configure.out" >&2; die "configure failed"; }
	fi
	make -C "$b" -j"$(nproc)" >"$b/make.out" 2>&1 ||
		{ grep -E 'error|Error' "$b/make.out" | head -30 >&2; die "build failed"; }
}

free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# ---- MariaDB ---------------------------------------------------------------
DB_PASSWORD=scriptorch-dev

# A private stack's state in a fresh directory /tmp/NAME.XXXXXX (dev/test
# and the benchmarks): sets STATE, BUILD, RUNTIME, SCRIPT_ROOT,
# WHEELHOUSE and a free PORT.
private_state() {
	STATE=$(mktemp -d "/tmp/$1.XXXXXX") || die "cannot create a state dir"
	chmod 755 "$STATE"
	BUILD=$STATE/build
	RUNTIME=$STATE/run
	SCRIPT_ROOT=$STATE/scripts
	WHEELHOUSE=$STATE/wheelhouse
	PORT=$(free_port)
}

db_cli() { mariadb --no-defaults --socket="$STATE/mysql.sock" -uroot "$@"; }

start_mariadb() {
	mkdir -p "$STATE"
	if [ ! -d "$STATE/data/mysql" ]; then
		mariadb-install-db --no-defaults --user=root --datadir="$STATE/data" \
			--auth-root-authentication-method=normal --skip-test-db \
			>"$STATE/mariadb-install.log" 2>&1 ||
			{ tail "$STATE/mariadb-install.log" >&2; die "mariadb-install-db failed"; }
	fi
	if [ -f "$STATE/mariadbd.pid" ] && kill -0 "$(cat "$STATE/mariadbd.pid")" 2>/dev/null; then
		return 0
	fi
	mariadbd --no-defaults --user=root --datadir="$STATE/data" \
		--socket="$STATE/mysql.sock" --skip-networking \
		--pid-file="$STATE/mariadbd.pid" --log-error="$STATE/mariadb.log" \
		--skip-name-resolve --innodb-buffer-pool-size=128M \
		--innodb-flush-log-at-trx-commit=1 --max-connections=500 \
		>/dev/null 2>&1 &
	local i
	for i in $(seq 1 100); do
		mariadb-admin --no-defaults --socket="$STATE/mysql.sock" -uroot ping \
			>/dev/null 2>&1 && break
		sleep 0.1
	done
	mariadb-admin --no-defaults --socket="$STATE/mysql.sock" -uroot ping >/dev/null 2>&1 ||
		{ tail "$STATE/mariadb.log" >&2; die "MariaDB did not start"; }
	db_cli -e "CREATE DATABASE IF NOT EXISTS scriptorch CHARACTER SET utf8mb4;
		CREATE USER IF NOT EXISTS 'scriptorch'@'localhost' IDENTIFIED BY '$DB_PASSWORD';
		GRANT ALL ON scriptorch.* TO 'scriptorch'@'localhost';" ||
		die "cannot create the database"
}

stop_mariadb() {
	[ -S "$STATE/mysql.sock" ] || [ -f "$STATE/mariadbd.pid" ] || return 0
	mariadb-admin --no-defaults --socket="$STATE/mysql.sock" -uroot shutdown \
		>/dev/null 2>&1 || true
	stop_pidfile "$STATE/mariadbd.pid"
}

# ---- scriptorchd -----------------------------------------------------------
# ensure_key FILE WHAT: 64 hex characters (32 random bytes) in FILE, mode
# 0600, made once and kept with the stack's state.
ensure_key() {
	local f=$1
	if [ ! -s "$f" ]; then
		(umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$f.tmp" &&
			echo >>"$f.tmp" && mv "$f.tmp" "$f") ||
			die "cannot make the $2 $f"
	fi
	chmod 600 "$f"
}

# ensure_secret_key FILE: the node's key for secrets (docs/api.md,
# "Secrets"); a new key would leave every sealed value unreadable.
ensure_secret_key() {
	ensure_key "$1" "secret key"
}

# ensure_callback_secret FILE: the key that signs completion callbacks
# (docs/callbacks.md), kept so that a receiver set up with it keeps
# verifying after dev/up runs again; every node of the stack signs with
# it. Sets CALLBACK_SECRET to it.
ensure_callback_secret() {
	ensure_key "$1" "callback secret"
	CALLBACK_SECRET=$(tr -d '\n' <"$1")
}

# write_conf FILE: the daemon's config for this stack, 0600 (it holds the
# database password; the daemon refuses a config the run user could read).
# The socket is 0600: this stack's nginx runs as root (see write_nginx_conf);
# the package's is 0660 with nginx's group.
write_conf() {
	private_file "$1"
	cat >"$1" <<CONF
# Generated by dev/lib.sh for the stack in $STATE
[daemon]
listen = $STATE/fcgi.sock
socket_mode = 0600
api_workers = ${SCRIPTORCH_API_WORKERS:-4}
runner_workers = ${SCRIPTORCH_RUNNERS:-4}
log_level = ${SCRIPTORCH_LOG_LEVEL:-info}
shutdown_timeout_s = 10
secret_key_file = $STATE/secret.key
marketplace_dir = $RUNTIME/marketplace

[database]
socket = $STATE/mysql.sock
user = scriptorch
password = $DB_PASSWORD
name = scriptorch

[runner]
run_user = $RUN_USER
script_roots = $SCRIPT_ROOT
work_dir = $RUNTIME/work
max_timeout_s = 3600
kill_grace_s = ${SCRIPTORCH_KILL_GRACE:-2}
heartbeat_interval_s = 1
heartbeat_timeout_s = ${SCRIPTORCH_HEARTBEAT_TIMEOUT:-5}
queue_max_depth = ${SCRIPTORCH_QUEUE_MAX:-10000}
rlimit_nofile = 1024
# A uid per running execution, none with a passwd entry: a range of 64
# from 1990000, one range per stack (by port) so that the stacks of one
# machine never share a run uid.
run_uid_base = ${SCRIPTORCH_RUN_UID_BASE:-$((1990000 + PORT % 4096 * 64))}
run_uid_count = 64
isolation = yes

[callbacks]
# The same secret is in \$STATE/env as SCRIPTORCH_CALLBACK_SECRET, for a
# receiver to verify signatures with.
callback_secret = $CALLBACK_SECRET
callback_allow_hosts = ${SCRIPTORCH_CALLBACK_ALLOW_HOSTS:-}

[python]
interpreter = /usr/bin/python3
venv_dir = $RUNTIME/venvs
cache_dir = $RUNTIME/cache
builder = $RUNTIME/libexec/scriptorch-venv
build_user = $BUILD_USER
pip_find_links = $WHEELHOUSE
pip_no_index = yes
CONF
}

# private_file FILE: FILE exists with mode 0600, so that what the caller
# then writes into it with > (a token, a password) is never readable by
# others: > truncates an existing file and keeps its mode.
private_file() {
	{ [ -e "$1" ] || (umask 077 && : >"$1"); } && chmod 600 "$1" ||
		die "cannot create $1"
}

start_daemon() {
	local bin=$BUILD/src/scriptorchd
	if [ -f "$STATE/scriptorchd.pid" ] && kill -0 "$(cat "$STATE/scriptorchd.pid")" 2>/dev/null; then
		# Running: keep it unless the binary was rebuilt since.
		[ "$bin" -nt "$STATE/scriptorchd.pid" ] || return 0
		stop_daemon
	fi
	"$bin" -c "$STATE/scriptorch.conf" migrate --dir "$REPO/sql" >"$STATE/migrate.log" 2>&1 ||
		{ cat "$STATE/migrate.log" >&2; die "migration failed"; }
	"$bin" -c "$STATE/scriptorch.conf" >>"$STATE/scriptorchd.log" 2>&1 &
	echo $! >"$STATE/scriptorchd.pid"
}

stop_daemon() { stop_pidfile "$STATE/scriptorchd.pid"; }

# ---- nginx -----------------------------------------------------------------
write_nginx_conf() {
	mkdir -p "$STATE/nginx/tmp"
	sed -e "s|@LISTEN@|127.0.0.1:$PORT|" -e "s|@HTDOCS@|$REPO/htdocs|" \
		-e "s|@FCGI_SOCKET@|$STATE/fcgi.sock|" -e "s|@HEADERS@|$REPO/nginx/headers.conf|" \
		"$REPO/nginx/scriptorch.conf" >"$STATE/nginx/site.conf"
	# Dev stack only (not in the packaged config): a PEP 503 package index
	# that the venv tests fill in $RUNTIME/index, served by this nginx as
	# http://127.0.0.1:$PORT/pypi/simple/.
	sed -i "s|^\tlocation /api/ {|\tlocation /pypi/ { alias $RUNTIME/index/; }\n\n&|" \
		"$STATE/nginx/site.conf"
	# Workers run as root here only because the checkout may sit in a
	# directory other users cannot enter; the package runs them as www-data.
	cat >"$STATE/nginx/nginx.conf" <<NGX
user root;
worker_processes 2;
pid $STATE/nginx/nginx.pid;
error_log $STATE/nginx/error.log warn;
events { worker_connections 1024; }
http {
	include /etc/nginx/mime.types;
	default_type application/octet-stream;
	access_log $STATE/nginx/access.log;
	client_body_temp_path $STATE/nginx/tmp/body;
	fastcgi_temp_path $STATE/nginx/tmp/fastcgi;
	proxy_temp_path $STATE/nginx/tmp/proxy;
	uwsgi_temp_path $STATE/nginx/tmp/uwsgi;
	scgi_temp_path $STATE/nginx/tmp/scgi;
	sendfile on;
	keepalive_timeout 65;
	include $STATE/nginx/site.conf;
}
NGX
}

start_nginx() {
	if [ -f "$STATE/nginx/nginx.pid" ] && kill -0 "$(cat "$STATE/nginx/nginx.pid")" 2>/dev/null; then
		nginx -p "$STATE/nginx" -c "$STATE/nginx/nginx.conf" -s reload 2>/dev/null
		return 0
	fi
	nginx -p "$STATE/nginx" -c "$STATE/nginx/nginx.conf" ||
		die "nginx did not start (see $STATE/nginx/error.log)"
}

stop_nginx() { stop_pidfile "$STATE/nginx/nginx.pid"; }

# Stops the process in a pid file: TERM, then KILL after 15 s.
stop_pidfile() {
	local f=$1 pid i
	[ -f "$f" ] || return 0
	pid=$(cat "$f")
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill "$pid" 2>/dev/null
		for i in $(seq 1 150); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
	fi
	rm -f "$f"
}

wait_healthy() {
	local i
	for i in $(seq 1 100); do
		curl -fsS "http://127.0.0.1:$PORT/api/v1/health" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	tail -20 "$STATE/scriptorchd.log" >&2
	die "the stack did not become healthy on port $PORT"
}

admin_token() {
	"$BUILD/src/scriptorchd" -c "$STATE/scriptorch.conf" token create \
		--name "${1:-dev-admin}" --role admin
}

# The marketplace as `make install` lays it out, with the frame-stats
# item's program from $BUILD, beside the venvs: the daemon offers it from
# there (marketplace_dir), a directory every user can reach wherever the
# checkout is.
install_marketplace() {
	rm -rf "$RUNTIME/marketplace"
	make -C "$BUILD" -s install-marketplace \
		marketplacedir="$RUNTIME/marketplace" >"$STATE/marketplace-install.log" 2>&1 ||
		{ cat "$STATE/marketplace-install.log" >&2; die "cannot install the marketplace"; }
}

# Brings everything up; sets TOKEN. $STATE/env (the URL and an admin
# token, which dev/up and dev/test write) is made 0600 here first: they
# rewrite it in place, which keeps the mode.
stack_up() {
	mkdir -p "$STATE" "$RUNTIME/work" "$RUNTIME/venvs" "$SCRIPT_ROOT" "$WHEELHOUSE"
	chmod 755 "$RUNTIME" "$SCRIPT_ROOT" "$WHEELHOUSE"
	chmod 711 "$RUNTIME/work"
	private_file "$STATE/env"
	ensure_run_user
	ensure_build_user
	# The builder runs as the build user, who may not reach the checkout
	# (under /root or a mktemp -d directory): a copy beside the venvs.
	install -D -m 0755 "$REPO/libexec/scriptorch-venv" \
		"$RUNTIME/libexec/scriptorch-venv"
	install_marketplace
	start_mariadb
	ensure_secret_key "$STATE/secret.key"
	ensure_callback_secret "$STATE/callback.secret"
	write_conf "$STATE/scriptorch.conf"
	start_daemon
	write_nginx_conf
	start_nginx
	wait_healthy
	TOKEN=$(admin_token) || die "cannot create an admin token"
}

stack_down() {
	stop_nginx
	stop_daemon
	stop_mariadb
}
