#!/bin/bash
# tests/package/in-chroot.sh - runs inside the bookworm chroot that
# tests/package/run.sh made, after the package was installed, in a
# network namespace of its own (port 80 is ours) and a pid namespace that
# ends every process when this script ends. It does what an admin and
# systemd would do, as README.Debian and the unit say, then checks the
# package through the installed nginx. Prints "ok DESC" / "not ok DESC"
# on stdout (run.sh numbers them); details go to stderr.
#   in-chroot.sh DEB
set -u
DEB=$1
UNIT=/lib/systemd/system/scriptorch.service
CONF=/etc/scriptorch/scriptorch.conf
URL=http://127.0.0.1
LOGDIR=/root/pkgtest/logs
DB_PASSWORD=pkg-test-$$
mkdir -p "$LOGDIR"

ok() { echo "ok $*"; }
nok() { echo "not ok $*"; }
check() {	# check DESC CMD...: one test point from a command's status;
	local d=$1; shift	# the command's output goes to stderr
	if "$@" >&2; then ok "$d"; else nok "$d"; return 1; fi
}
diag() { printf '# %s\n' "$*" >&2; }

# ---- as boot would: tmpfiles, then MariaDB -----------------------------
systemd-tmpfiles --create >/dev/null 2>&1
check "tmpfiles: /run/scriptorch is root:www-data 2750" \
	test "$(stat -c '%U:%G %a' /run/scriptorch)" = "root:www-data 2750"

mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld
/usr/sbin/mariadbd --user=mysql --skip-networking \
	--log-error=$LOGDIR/mariadb.err >/dev/null 2>&1 &
for _ in $(seq 1 100); do
	mariadb-admin ping >/dev/null 2>&1 && break
	sleep 0.2
done
check "MariaDB answers" mariadb-admin ping >/dev/null 2>&1 ||
	tail -20 $LOGDIR/mariadb.err >&2

# ---- README.Debian, "Setting it up" --------------------------------------
mariadb -e "CREATE DATABASE scriptorch CHARACTER SET utf8mb4;
	CREATE USER 'scriptorch'@'localhost' IDENTIFIED BY '$DB_PASSWORD';
	GRANT ALL ON scriptorch.* TO 'scriptorch'@'localhost';" >&2
sed -i "s/^password =.*/password = $DB_PASSWORD/" "$CONF"
check "scriptorchd migrate creates the schema" \
	scriptorchd migrate
mkdir -p /srv/scriptorch/scripts
ln -sf ../sites-available/scriptorch /etc/nginx/sites-enabled/scriptorch
rm -f /etc/nginx/sites-enabled/default
check "nginx -t accepts the installed site" nginx -t

# ---- the daemon, started as the unit starts it ------------------------
# ExecStartPre and ExecStart from the installed unit, run as its root user
# with its capability bounding set, NoNewPrivileges and UMask, cwd /.
unit_value() { sed -n "s/^$1=//p" "$UNIT" | head -1; }
PRE=$(unit_value ExecStartPre)
START=$(unit_value ExecStart)
CAPS=$(unit_value CapabilityBoundingSet | tr 'A-Z' 'a-z' |
	sed -e 's/cap_//g' -e 's/ /,+/g' -e 's/^/-all,+/')
UMASK=$(unit_value UMask)
diag "ExecStart: $START; bounding set: $CAPS"
start_daemon() {
	# systemd runs ExecStartPre first; a failure stops the start.
	(cd / && umask "$UMASK" &&
		exec setpriv --bounding-set="$CAPS" --no-new-privs $PRE) >&2 ||
		return 1
	(cd / && umask "$UMASK" &&
		exec setpriv --bounding-set="$CAPS" --no-new-privs $START) \
		>>$LOGDIR/scriptorchd.log 2>&1 &
	DAEMON=$!
}
stop_daemon() {	# as systemd stops it: SIGTERM to the main process
	[ -n "${DAEMON:-}" ] || return 0
	kill -TERM "$DAEMON" 2>/dev/null
	for _ in $(seq 1 150); do kill -0 "$DAEMON" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$DAEMON" 2>/dev/null && { diag "daemon ignored SIGTERM"; kill -KILL "$DAEMON"; }
	wait "$DAEMON" 2>/dev/null
	DAEMON=
}
wait_healthy() {
	for _ in $(seq 1 100); do
		[ "$(curl -s -o /dev/null -w '%{http_code}' $URL/api/v1/health)" = 200 ] &&
			return 0
		sleep 0.2
	done
	curl -s $URL/api/v1/health >&2
	tail -20 $LOGDIR/scriptorchd.log >&2
	return 1
}
check "ExecStartPre (check-config) passes and ExecStart starts" start_daemon
nginx >&2
check "health is 200 through the installed nginx site" wait_healthy
check "the FastCGI socket is root:www-data 0660" \
	test "$(stat -c '%U:%G %a' /run/scriptorch/fcgi.sock)" = "root:www-data 660"
check "the UI is served from /usr/share/scriptorch/htdocs" \
	sh -c "curl -fsS $URL/ | grep -qi '<html'"

# ---- smoke test through nginx -------------------------------------------
TOKEN=$(scriptorchd token create --name pkg-test --role admin 2>&2)
check "scriptorchd token create prints a token" test -n "$TOKEN"
api() {	# api METHOD PATH [BODY] -> body in $BODY, status in $STATUS
	local out
	out=$(curl -s -w '\n%{http_code}' -X "$1" -H "Authorization: Bearer $TOKEN" \
		-H 'Content-Type: application/json' ${3:+--data "$3"} "$URL$2")
	STATUS=${out##*$'\n'}
	BODY=${out%$'\n'*}
}
json() { python3 -c 'import json,sys; v=json.loads(sys.argv[1])
for k in sys.argv[2].split("."): v=v[k]
print(v)' "$BODY" "$1" 2>/dev/null; }

cat >/srv/scriptorch/scripts/hello.sh <<'SH'
#!/bin/sh
echo "hello $INPUT_WHO from $(id -un)"
SH
chmod 755 /srv/scriptorch/scripts/hello.sh
api POST /api/v1/admin/scripts \
	'{"name":"hello","type":"shell","path":"/srv/scriptorch/scripts/hello.sh"}'
SCRIPT_ID=$(json id)
check "POST /api/v1/admin/scripts registers a shell script (201)" \
	test "$STATUS" = 201 -a -n "$SCRIPT_ID" || diag "$STATUS $BODY"

api POST "/api/v1/scripts/$SCRIPT_ID/executions?wait=30" '{"input":{"who":"package"}}'
EXEC_ID=$(json id)
check "POST .../executions?wait=30 runs it to success" \
	test "$STATUS" = 200 -a "$(json status)" = succeeded || diag "$STATUS $BODY"
api GET "/api/v1/executions/$EXEC_ID"
check "GET /api/v1/executions/ID shows the output, run as _scriptorch-run" \
	test "$STATUS" = 200 -a "$(json stdout)" = "hello package from _scriptorch-run" ||
	diag "$STATUS $BODY"

cat >/srv/scriptorch/scripts/py.py <<'PY'
import sys
print(sys.prefix.startswith("/var/lib/scriptorch/venvs"))
PY
chmod 644 /srv/scriptorch/scripts/py.py
api POST /api/v1/admin/scripts \
	'{"name":"py","type":"python","path":"/srv/scriptorch/scripts/py.py"}'
PY_ID=$(json id)
api POST "/api/v1/scripts/$PY_ID/executions?wait=120" '{"input":{}}'
check "a python script runs in a venv built under /var/lib/scriptorch/venvs" \
	test "$STATUS" = 200 -a "$(json stdout)" = True || diag "$STATUS $BODY"

# ---- upgrade: the same .deb over itself, daemon running ------------------
# dh_installsystemd restarts the unit after the upgrade; without systemd
# this script does the restart.
cp "$CONF" /root/pkgtest/conf.before
check "reinstalling the same .deb over itself succeeds" \
	sh -c "dpkg -i '$DEB' </dev/null >$LOGDIR/reinstall.out 2>&1" ||
	cat $LOGDIR/reinstall.out >&2
check "the edited conffile is kept, without a prompt" \
	cmp -s "$CONF" /root/pkgtest/conf.before
check "postinst ran the migrations (schema up to date)" \
	grep -q 'database schema up to date' $LOGDIR/reinstall.out
stop_daemon
start_daemon >&2
check "the daemon comes back after the upgrade" wait_healthy
api GET "/api/v1/executions/$EXEC_ID"
check "the token and the execution survive the upgrade" \
	test "$STATUS" = 200 -a "$(json status)" = succeeded || diag "$STATUS $BODY"

# ---- purge ----------------------------------------------------------------
# prerm stops the unit on removal; here this script does.
stop_daemon
check "dpkg --purge scriptorch succeeds" \
	sh -c "dpkg --purge scriptorch </dev/null >$LOGDIR/purge.out 2>&1"
cat $LOGDIR/purge.out >&2
check "purge removes /etc/scriptorch" test ! -e /etc/scriptorch
check "purge removes /var/lib/scriptorch and /run/scriptorch" \
	test ! -e /var/lib/scriptorch -a ! -e /run/scriptorch
check "purge removes the user and group _scriptorch-run" \
	sh -c '! getent passwd _scriptorch-run && ! getent group _scriptorch-run'
check "purge removes the sites-enabled link and the site" \
	test ! -e /etc/nginx/sites-enabled/scriptorch -a ! -L /etc/nginx/sites-enabled/scriptorch \
	-a ! -e /etc/nginx/sites-available/scriptorch
check "purge removes the program, units and data" \
	test ! -e /usr/sbin/scriptorchd -a ! -e /usr/share/scriptorch -a \
	! -e /lib/systemd/system/scriptorch.service -a \
	! -e /etc/systemd/system/multi-user.target.wants/scriptorch.service
check "purge says it leaves the database, and the database is still there" \
	sh -c "grep -q 'DROP DATABASE scriptorch' $LOGDIR/purge.out &&
		mariadb -N -e 'SHOW DATABASES' | grep -qx scriptorch"
nginx -s quit 2>/dev/null
mariadb-admin shutdown 2>/dev/null
echo "ok the in-chroot steps ran to the end"
exit 0
