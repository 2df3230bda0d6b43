#!/usr/bin/env bash
# bench/exec-bench.sh - how fast scriptorch starts and finishes a script,
# beside its strongest peer measured in the same invocation: the same
# script as a CGI program under fcgiwrap (Debian's), behind the same
# nginx, with as many fcgiwrap processes as scriptorch has runners.
#
# Both sides run the same file, once per request (one start each):
#   hello.cgi  a shell script that prints a CGI header and a line;
#   stamp      a tiny C program that prints a CGI header and its own
#              CLOCK_REALTIME at start (for the submit -> start figure).
# scriptorch runs them as its scripts are run (the daemon's normal
# config from dev/lib.sh: every run's row committed durably in MariaDB
# before the child starts and its result after it ends, run isolation
# as configured there); fcgiwrap execs them and logs nothing.
#
# In paired rounds (each round measures every side; which side goes
# first alternates from round to round, so a slow minute of this shared
# VM hits both), with per-round ratios and their medians:
#   1. async submit -> the child's start, p50 of ASYNC_N runs a side:
#      scriptorch: POST /api/v1/scripts/{id}/executions (answered 202 at
#      once), the child's clock read from the stored stdout later;
#      fcgiwrap: GET of stamp, the child's clock read from the answer.
#   2. synchronous round trip of hello.cgi, wrk with keep-alive (as a
#      client sets it; nginx speaks to both backends without FastCGI
#      keep-alive, as both are configured by default): scriptorch's
#      POST /api/v1/admin/scripts/{id}/test against fcgiwrap's GET, at
#      concurrency 1 (p50 latency) and 8 (req/s); the two-start wrapper
#      (a CGI that execs hello.cgi: what this benchmark compared with
#      before) as a second line.
#   3. this machine's floors, measured in every round: a bare fork+exec
#      of hello.cgi to its exit, the same in new PID, mount and IPC
#      namespaces (what isolation costs at the least), fork -> stamp's
#      main, and one durable MariaDB commit (a one-row INSERT, round trip
#      included) and a run's record at the least (its row inserted, then
#      its result written into it, each committed); the CPU per request
#      of each side at concurrency 8
#      (every process of the side, children included, from cpuacct
#      groups); and from these, how near to the peer each ratio can get.
#
# Usage: bench/exec-bench.sh [rounds, default 5]
#   SLICE=s      seconds of wrk per side and round (default 3)
#   ASYNC_N=n    async submissions per side and round (default 40)
#   PEER_KEEPALIVE=1  nginx keeps FastCGI connections to fcgiwrap open
#                (fastcgi_keep_conn, keepalive 4 per nginx worker)
set -euo pipefail
. "$(dirname "$0")/../dev/lib.sh"
help_if_asked "$@"
ROUNDS=${1:-5}
SLICE=${SLICE:-3}
ASYNC_N=${ASYNC_N:-40}
PEER_KEEPALIVE=${PEER_KEEPALIVE:-0}
private_state scriptorch-bench
# 8 runners, as many as fcgiwrap's processes. An API worker that waits
# for a run takes one of max_waiting_workers places (by default half the
# API workers); a request finding none is answered 202 at once, its run
# left to the queue: 16 API workers give the 8 waits of concurrency 8
# their places, and every answer counted below is checked to be a 200.
export SCRIPTORCH_RUNNERS=8 SCRIPTORCH_API_WORKERS=16 SCRIPTORCH_LOG_LEVEL=warn
cleanup() {
	# fcgiwrap's workers are reparented away from the pid we started
	# (every run left 8 behind) and take seconds to heed SIGTERM: find
	# them by their socket, unique to this run, and SIGKILL what stays.
	# Nothing here may stop the rest of the clean-up (set -e).
	local pat="fcgiwrap .*$STATE/fcgiwrap.sock"
	pkill -f "$pat" 2>/dev/null || true
	for _ in $(seq 20); do
		pgrep -f "$pat" >/dev/null || break
		sleep 0.1
	done
	pkill -KILL -f "$pat" 2>/dev/null || true
	stop_pidfile "$STATE/fcgiwrap.pid" || true
	stack_down >/dev/null 2>&1 || true
	[ -z "${ACCT:-}" ] || acct_rmdir
	rm -rf "$STATE"
}
trap cleanup EXIT

need_pkgs $BUILD_PKGS $STACK_PKGS fcgiwrap wrk gcc
say "building"
build "$BUILD"
stack_up >/dev/null

# ---- the scripts, the same files for both sides ----------------------
mkdir -p "$SCRIPT_ROOT"
cat >"$SCRIPT_ROOT/hello.cgi" <<'SH'
#!/bin/sh
printf 'Content-Type: text/plain\r\n\r\n'
echo "hello from $$"
SH
# The second line: the two-start wrapper (a CGI that execs the script).
cat >"$SCRIPT_ROOT/wrap.cgi" <<SH
#!/bin/sh
exec $SCRIPT_ROOT/hello.cgi
SH
chmod 755 "$SCRIPT_ROOT/hello.cgi" "$SCRIPT_ROOT/wrap.cgi"
cat >"$SCRIPT_ROOT/stamp.c" <<'C'
#include <stdio.h>
#include <time.h>
int main(void) {
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	printf("Content-Type: text/plain\r\n\r\n%lld.%09ld\n",
	    (long long)ts.tv_sec, ts.tv_nsec);
	return 0;
}
C
cc -O2 -o "$SCRIPT_ROOT/stamp" "$SCRIPT_ROOT/stamp.c"

# The floors: fork+exec of a program, by a process that does nothing
# else: "floor run|start plain|iso PROGRAM" prints the p50 in ms and the
# CPU of a launch in ms (the child's and the kernel's work for it, as
# getrusage counts it). "run": to the child's exit with its output read
# (hello.cgi); "start": from before the call to the child's own clock
# (stamp). "iso": the child is the first process of new PID, mount and
# IPC namespaces with a private tmpfs (on /dev/shm: the benchmark's
# files are under /tmp) and its own /proc, as isolation makes a run's at
# the least.
cat >"$STATE/floor.c" <<'C'
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
static double now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}
static double cpu_ms(void) {
	struct rusage ru;
	getrusage(RUSAGE_CHILDREN, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}
static int cmp(const void *a, const void *b) {
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}
int main(int argc, char **argv) {
	enum { N = 100 };
	static double lat[N];
	if (argc < 4)
		return 1;
	int start = strcmp(argv[1], "start") == 0;
	int iso = strcmp(argv[2], "iso") == 0;
	double cpu0 = cpu_ms();
	for (int i = 0; i < N; i++) {
		char out[256];
		size_t len = 0;
		ssize_t r;
		int p[2];
		pid_t pid;
		double t0;
		if (pipe(p) == -1)
			return 1;
		t0 = now();
		pid = iso ? (pid_t)syscall(SYS_clone, CLONE_NEWPID | CLONE_NEWNS |
		    CLONE_NEWIPC | SIGCHLD, 0, 0, 0, 0) : fork();
		if (pid == 0) {
			if (iso && (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) ||
			    mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV,
			    "mode=1777") || mount("proc", "/proc", "proc", MS_NOSUID |
			    MS_NODEV | MS_NOEXEC, "hidepid=2")))
				_exit(126);
			dup2(p[1], 1);
			close(p[0]);
			close(p[1]);
			execl(argv[3], argv[3], (char *)NULL);
			_exit(127);
		}
		if (pid == -1)
			return 1;
		close(p[1]);
		while ((r = read(p[0], out + len, sizeof(out) - 1 - len)) > 0)
			len += (size_t)r;
		out[len] = '\0';
		close(p[0]);
		int status;
		if (waitpid(pid, &status, 0) == -1 || status != 0)
			return 1;
		if (start) {
			char *nl = strrchr(out, '\n');
			while (nl > out && nl[-1] != '\n')
				nl--;
			lat[i] = (atof(nl ? nl : out) - t0) * 1000;
		} else
			lat[i] = (now() - t0) * 1000;
		usleep(5000);
	}
	qsort(lat, N, sizeof(lat[0]), cmp);
	printf("%.3f %.3f\n", lat[N / 2], (cpu_ms() - cpu0) / N);
	return 0;
}
C
cc -O2 -o "$STATE/floor" "$STATE/floor.c"
# One durable commit: a one-row INSERT through a prepared statement,
# autocommit, from one session, as the daemon sends its statements
# ("bare"); and what logging a run completely needs at the least
# ("record"): its row inserted with its input, then its result written
# into it (status, exit code, stdout, stderr, duration, end time), two
# statements each committed on its own, on a table with no index but its
# key (scriptorch's table has those the API's lists need: more).
cat >"$STATE/commitfloor.c" <<'C'
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
static double now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}
static int cmp(const void *a, const void *b) {
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}
static MYSQL_STMT *prep(MYSQL *m, const char *q) {
	MYSQL_STMT *s = mysql_stmt_init(m);
	if (s == NULL || mysql_stmt_prepare(s, q, strlen(q))) {
		fprintf(stderr, "commitfloor: %s\n", mysql_error(m));
		exit(1);
	}
	return s;
}
static void run(MYSQL_STMT *s) {
	if (mysql_stmt_execute(s)) {
		fprintf(stderr, "commitfloor: %s\n", mysql_stmt_error(s));
		exit(1);
	}
}
int main(int argc, char **argv) {
	enum { N = 200 };
	static double lat[N];
	const char *bare = "INSERT INTO scriptorch_bench_floor.c (v) VALUES (1)";
	const char *ins = "INSERT INTO scriptorch_bench_floor.r (status, input, "
	    "queued_at) VALUES ('running', ?, UTC_TIMESTAMP(3))";
	const char *upd = "UPDATE scriptorch_bench_floor.r SET status = "
	    "'succeeded', exit_code = 0, stdout = ?, stderr = '', duration_ms "
	    "= 1.5, finished_at = UTC_TIMESTAMP(3) WHERE id = ? AND status = "
	    "'running'";
	static char input[] = "{}", out[] = "hello from a CGI\n";
	unsigned long inlen = 2, outlen = sizeof(out) - 1;
	long long id;
	MYSQL_BIND bi[1], bu[2];
	MYSQL *m = mysql_init(NULL);
	MYSQL_STMT *s, *s2;
	int record = argc > 2 && strcmp(argv[2], "record") == 0;
	if (argc < 2 || !mysql_real_connect(m, NULL, "root", NULL, NULL, 0,
	    argv[1], 0) ||
	    mysql_query(m, "CREATE DATABASE IF NOT EXISTS scriptorch_bench_floor") ||
	    mysql_query(m, "CREATE TABLE IF NOT EXISTS scriptorch_bench_floor.c "
	    "(id INT AUTO_INCREMENT PRIMARY KEY, v INT) ENGINE=InnoDB") ||
	    mysql_query(m, "CREATE TABLE IF NOT EXISTS scriptorch_bench_floor.r "
	    "(id BIGINT AUTO_INCREMENT PRIMARY KEY, status VARCHAR(16) NOT NULL, "
	    "input MEDIUMTEXT, exit_code INT, stdout MEDIUMBLOB, stderr "
	    "MEDIUMBLOB, duration_ms DOUBLE, queued_at DATETIME(3), finished_at "
	    "DATETIME(3)) ENGINE=InnoDB")) {
		fprintf(stderr, "commitfloor: %s\n", mysql_error(m));
		return 1;
	}
	s = prep(m, record ? ins : bare);
	s2 = record ? prep(m, upd) : NULL;
	memset(bi, 0, sizeof(bi));
	memset(bu, 0, sizeof(bu));
	bi[0].buffer_type = MYSQL_TYPE_STRING;
	bi[0].buffer = input;
	bi[0].length = &inlen;
	bu[0].buffer_type = MYSQL_TYPE_BLOB;
	bu[0].buffer = out;
	bu[0].length = &outlen;
	bu[1].buffer_type = MYSQL_TYPE_LONGLONG;
	bu[1].buffer = &id;
	if (record && (mysql_stmt_bind_param(s, bi) ||
	    mysql_stmt_bind_param(s2, bu))) {
		fprintf(stderr, "commitfloor: %s\n", mysql_stmt_error(s));
		return 1;
	}
	for (int i = 0; i < N; i++) {
		double t0 = now();
		run(s);
		if (record) {
			id = (long long)mysql_stmt_insert_id(s);
			run(s2);
		}
		lat[i] = now() - t0;
	}
	mysql_stmt_close(s);
	if (s2 != NULL)
		mysql_stmt_close(s2);
	mysql_query(m, "DROP DATABASE scriptorch_bench_floor");
	mysql_close(m);
	qsort(lat, N, sizeof(lat[0]), cmp);
	printf("%.3f\n", lat[N / 2]);
	return 0;
}
C
cc -O2 -o "$STATE/commitfloor" "$STATE/commitfloor.c" $(pkg-config --cflags --libs libmariadb)

# ---- fcgiwrap beside scriptorch, in the same nginx, on a second port -
FPORT=$(free_port)
spawn_sock=$STATE/fcgiwrap.sock
fcgiwrap -c "$SCRIPTORCH_RUNNERS" -s "unix:$spawn_sock" >/dev/null 2>&1 &
echo $! >"$STATE/fcgiwrap.pid"
for _ in $(seq 50); do [ -S "$spawn_sock" ] && break; sleep 0.1; done
chmod 666 "$spawn_sock"
if [ "$PEER_KEEPALIVE" = 1 ]; then
	peer_pass="fastcgi_pass fcgiwrap_up; fastcgi_keep_conn on;"
	peer_up="upstream fcgiwrap_up { server unix:$spawn_sock; keepalive 4; }"
else
	peer_pass="fastcgi_pass unix:$spawn_sock;"
	peer_up=""
fi
cat >>"$STATE/nginx/site.conf" <<NGX
$peer_up
server {
	listen 127.0.0.1:$FPORT;
	location ~ ^/cgi/([a-z.]+)\$ {
		include /etc/nginx/fastcgi_params;
		fastcgi_param SCRIPT_FILENAME $SCRIPT_ROOT/\$1;
		$peer_pass
	}
}
NGX
start_nginx
URL=http://127.0.0.1:$PORT
PURL=http://127.0.0.1:$FPORT/cgi
curl -fsS "$PURL/hello.cgi" | grep -q '^hello from' || die "fcgiwrap does not answer"

reg() {
	curl -fsS -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
		-d "$1" "$URL/api/v1/admin/scripts" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'
}
HELLO=$(reg "{\"name\":\"hello\",\"type\":\"shell\",\"path\":\"$SCRIPT_ROOT/hello.cgi\"}")
STAMP=$(reg "{\"name\":\"stamp\",\"type\":\"binary\",\"path\":\"$SCRIPT_ROOT/stamp\"}")

# ---- the measures ------------------------------------------------------
# async SIDE: p50 in ms of ASYNC_N submissions (after 5 unmeasured ones).
async_run() {
	/usr/bin/python3 - "$1" "$URL" "$TOKEN" "$STAMP" "$PURL/stamp" "$ASYNC_N" <<'PY'
import http.client, json, sys, time, urllib.parse
side, url, token, sid, purl, n = sys.argv[1:7]
n = int(n)
hdr = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
def conn(u):
    p = urllib.parse.urlsplit(u)
    return http.client.HTTPConnection(p.hostname, p.port), p.path
def last_line(text):
    return float(text.strip().splitlines()[-1])
lat = []
if side == "scriptorch":
    c, _ = conn(url)
    for i in range(n + 5):
        t0 = time.time()
        c.request("POST", f"/api/v1/scripts/{sid}/executions", b'{"input":{}}', hdr)
        r = c.getresponse()
        eid = json.loads(r.read())["id"]
        # The child notes its own start; polling while it starts would
        # load the two cores the start needs: the first look comes later.
        time.sleep(0.05)
        while True:
            c.request("GET", f"/api/v1/executions/{eid}", headers=hdr)
            e = json.loads(c.getresponse().read())
            if e["status"] not in ("queued", "running"):
                break
            time.sleep(0.01)
        if i >= 5:
            lat.append((last_line(e["stdout"]) - t0) * 1000)
        time.sleep(0.01)
else:
    c, path = conn(purl)
    for i in range(n + 5):
        t0 = time.time()
        c.request("GET", path)
        body = c.getresponse().read().decode()
        if i >= 5:
            lat.append((last_line(body) - t0) * 1000)
        time.sleep(0.06)
lat.sort()
print(f"{lat[len(lat) // 2]:.3f}")
PY
}

# Every answer must be a 200: a 202 (a scriptorch request that found no
# waiting place) or an error is counted and fails the benchmark.
cat >"$STATE/check.lua" <<'LUA'
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) not200 = 0 end
function response(status, headers, body)
	if status ~= 200 then not200 = not200 + 1 end
end
function done(summary, latency, requests)
	local n = 0
	for _, t in ipairs(threads) do n = n + t:get("not200") end
	io.write(string.format("not200 %d\n", n))
end
LUA
cat "$STATE/check.lua" - >"$STATE/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"input":{}}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $TOKEN"
LUA

# A side's CPU: every process of it sits in a cgroup of the v1 cpuacct
# hierarchy (a fork stays in its parent's group, so each run and CGI
# counts however it is reaped: fcgiwrap's children are reaped by the
# kernel, and /proc's cutime misses them), nginx in one of its own,
# which counts for the side being loaded; MariaDB in one of its own too
# (scriptorch's side), for the commit floor's CPU.
ACCT=/sys/fs/cgroup/cpuacct/scriptorch-bench.$$
[ -w /sys/fs/cgroup/cpuacct/cgroup.procs ] ||
	die "the benchmark needs the cgroup v1 cpuacct hierarchy at /sys/fs/cgroup/cpuacct"
mkdir -p "$ACCT/scriptorch" "$ACCT/mariadb" "$ACCT/fcgiwrap" "$ACCT/nginx"
acct_join() {  # group pid...
	local pid
	for pid in "${@:2}"; do echo "$pid" >"$ACCT/$1/cgroup.procs" 2>/dev/null || true; done
}
acct_rmdir() {
	local g pid
	for g in scriptorch mariadb fcgiwrap nginx; do
		[ -d "$ACCT/$g" ] || continue
		while read -r pid; do echo "$pid" >/sys/fs/cgroup/cpuacct/cgroup.procs; done <"$ACCT/$g/cgroup.procs"
		rmdir "$ACCT/$g" 2>/dev/null || true
	done
	rmdir "$ACCT" 2>/dev/null || true
}
acct_join mariadb "$(cat "$STATE/mariadbd.pid")"
acct_join scriptorch "$(cat "$STATE/scriptorchd.pid")" $(pgrep -P "$(cat "$STATE/scriptorchd.pid")")
acct_join fcgiwrap $(pgrep -f "fcgiwrap .*$STATE/fcgiwrap.sock")
acct_join nginx "$(cat "$STATE/nginx/nginx.pid")" $(pgrep -P "$(cat "$STATE/nginx/nginx.pid")")
acct_us() { echo $(( $(cat "$ACCT/$1/cpuacct.usage") / 1000 )); }
# CPU us of a side so far.
side_cpu() {
	case $1 in
	scriptorch) echo $(( $(acct_us scriptorch) + $(acct_us mariadb) + $(acct_us nginx) )) ;;
	*) echo $(( $(acct_us fcgiwrap) + $(acct_us nginx) )) ;;
	esac
}

# wrk_run SIDE CONNS -> "p50_ms req/s cpu_ms_per_request"
wrk_run() {
	local side=$1 conns=$2 out c0 c1 p50 rps n url script=$STATE/check.lua
	case $side in
	scriptorch) url=$URL/api/v1/admin/scripts/$HELLO/test; script=$STATE/post.lua ;;
	fcgiwrap) url=$PURL/hello.cgi ;;
	wrapper) url=$PURL/wrap.cgi ;;
	esac
	c0=$(side_cpu "$side")
	out=$(wrk -t"$(( conns < 2 ? 1 : 2 ))" -c"$conns" -d"${SLICE}s" --latency \
		-s "$script" "$url")
	c1=$(side_cpu "$side")
	p50=$(awk '$1=="50%" {print $2}' <<<"$out")
	rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
	n=$(awk '/requests in/ {print $1}' <<<"$out")
	grep -q '^not200 0$' <<<"$out" || die "$side answered other than 200: $out"
	/usr/bin/python3 -c "
import re, sys
v = sys.argv[1]
m = re.match(r'([0-9.]+)(us|ms|s)', v)
p50 = float(m.group(1)) * {'us': 0.001, 'ms': 1, 's': 1000}[m.group(2)]
print(f'{p50:.3f} {float(sys.argv[2]):.1f} {($c1 - $c0) / 1000 / max(int(sys.argv[3]), 1):.3f}')
" "$p50" "$rps" "$n"
}

# The floors: "run_ms run_cpu iso_ms iso_cpu start_ms commit_ms
# commit_cpu record_ms record_cpu" (the CPU: MariaDB's, per commit, per
# run's record).
floors() {
	local run iso start commit record c0 c1 c2
	run=$("$STATE/floor" run plain "$SCRIPT_ROOT/hello.cgi") || die "the floor program failed"
	iso=$("$STATE/floor" run iso "$SCRIPT_ROOT/hello.cgi") || die "the floor program failed"
	start=$("$STATE/floor" start plain "$SCRIPT_ROOT/stamp") || die "the floor program failed"
	c0=$(acct_us mariadb)
	commit=$("$STATE/commitfloor" "$STATE/mysql.sock" bare)
	c1=$(acct_us mariadb)
	record=$("$STATE/commitfloor" "$STATE/mysql.sock" record)
	c2=$(acct_us mariadb)
	echo "$run $iso ${start% *} $commit $(( (c1 - c0) / 200 )) $record $(( (c2 - c1) / 200 ))" |
		awk '{printf "%s %s %s %s %s %s %.3f %s %.3f\n", $1, $2, $3, $4, $5, $6, $7 / 1000, $8, $9 / 1000}'
}

# Warm both sides (connections, caches, the first cgroups).
for side in scriptorch fcgiwrap; do SLICE=1 wrk_run "$side" 8 >/dev/null; done

say "$ROUNDS paired rounds: async $ASYNC_N a side, wrk ${SLICE}s a side at concurrency 1 and 8"
ROWS=$STATE/rounds
: >"$ROWS"
for r in $(seq "$ROUNDS"); do
	if [ $((r % 2)) = 1 ]; then order="scriptorch fcgiwrap wrapper"; else order="wrapper fcgiwrap scriptorch"; fi
	declare -A A=() L=() T=() C=()
	for side in $order; do
		[ "$side" = wrapper ] || A[$side]=$(async_run "$side")
	done
	for side in $order; do
		read -r p _ _ < <(wrk_run "$side" 1)
		L[$side]=$p
	done
	for side in $order; do
		read -r _ t c < <(wrk_run "$side" 8)
		T[$side]=$t C[$side]=$c
	done
	read -r fl_run fl_run_cpu fl_iso fl_iso_cpu fl_start fl_commit fl_commit_cpu fl_rec fl_rec_cpu < <(floors)
	row="${A[scriptorch]} ${A[fcgiwrap]} ${L[scriptorch]} ${L[fcgiwrap]} ${L[wrapper]}"
	row+=" ${T[scriptorch]} ${T[fcgiwrap]} ${T[wrapper]} ${C[scriptorch]} ${C[fcgiwrap]}"
	row+=" $fl_run $fl_start $fl_commit $fl_commit_cpu $(cut -d' ' -f1 /proc/loadavg)"
	row+=" $fl_run_cpu $fl_iso $fl_iso_cpu $fl_rec $fl_rec_cpu"
	echo "$row" >>"$ROWS"
	say "  round $r: async ${A[scriptorch]} / ${A[fcgiwrap]} ms; c1 p50 ${L[scriptorch]} / ${L[fcgiwrap]} (wrapper ${L[wrapper]}) ms;" \
		"c8 ${T[scriptorch]} / ${T[fcgiwrap]} (wrapper ${T[wrapper]}) req/s, CPU ${C[scriptorch]} / ${C[fcgiwrap]} ms a request;" \
		"floors: run $fl_run (isolated $fl_iso), start $fl_start, commit $fl_commit, record $fl_rec ms (load $(cut -d' ' -f1 /proc/loadavg))"
done
logged=$(db_cli -N -e "SELECT COUNT(*) FROM scriptorch.executions WHERE status='succeeded'")

/usr/bin/python3 - "$ROWS" "$(nproc)" "$(date -u +%Y-%m-%dT%H:%MZ)" "$logged" "$PEER_KEEPALIVE" <<'PY'
import statistics as st, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
cores, when, logged, keep = sys.argv[2:6]
(AS, AF, LS, LF, LW, TS, TF, TW, CS, CF, FRUN, FSTART, FCOMMIT, FCCPU, LOAD, FRUNCPU, FISO, FISOCPU, FREC, FRECCPU) = range(20)
def col(k): return [r[k] for r in rows]
def ratio(a, b): return [r[a] / r[b] for r in rows]
def fmt(v, d=2):
    m = st.median(v)
    return f"{m:.{d}f} ({min(v):.{d}f}-{max(v):.{d}f})"
n = len(rows)
print()
print(f"scriptorch execution benchmark ({cores} cores, {when}, {n} paired rounds; "
      f"medians, the rounds' range in brackets; load average {fmt(col(LOAD), 1)})")
print(f"peer: the script as a CGI under fcgiwrap, one start a request; "
      f"nginx to fcgiwrap {'with' if keep == '1' else 'without'} FastCGI keep-alive")
print()
print(f"async submit -> child's start, p50:  scriptorch {fmt(col(AS))} ms | fcgiwrap request -> CGI's start {fmt(col(AF))} ms | ratio {fmt(ratio(AS, AF))}")
print(f"sync round trip, concurrency 1, p50: scriptorch {fmt(col(LS))} ms | fcgiwrap {fmt(col(LF))} ms | ratio {fmt(ratio(LS, LF))} (target <= 1.3)")
print(f"sync round trip, concurrency 8:      scriptorch {fmt(col(TS), 0)} req/s | fcgiwrap {fmt(col(TF), 0)} req/s | ratio {fmt(ratio(TS, TF))} (target >= 0.75)")
print(f"  CPU per request at concurrency 8:  scriptorch {fmt(col(CS))} ms | fcgiwrap {fmt(col(CF))} ms (nginx included on both sides)")
print(f"second line, the two-start wrapper:  c1 p50 {fmt(col(LW))} ms, ratio {fmt(ratio(LS, LW))}; c8 {fmt(col(TW), 0)} req/s, ratio {fmt(ratio(TS, TW))}")
print()
print(f"this machine's floors, in every round: a process that only launches the script, one at a time:")
print(f"  fork+exec of hello.cgi to its exit {fmt(col(FRUN))} ms, {fmt(col(FRUNCPU))} ms of CPU; the same in new PID, mount and IPC")
print(f"  namespaces (own /proc, a private tmpfs) {fmt(col(FISO))} ms, {fmt(col(FISOCPU))} ms of CPU; fork -> stamp's main {fmt(col(FSTART))} ms;")
print(f"  one durable commit (a one-row INSERT through a prepared statement, round trip included) {fmt(col(FCOMMIT), 3)} ms, {fmt(col(FCCPU), 3)} ms of MariaDB's CPU")
# What scriptorch adds to the peer's path at the least: its run's row is
# committed before the child starts and its result before the answer
# (the first may overlap the launch, the second overlaps nothing), and
# with isolation a launch costs what the namespaces add.
both = [(r[LF] + 2 * r[FCOMMIT] + max(r[FISO] - r[FRUN], 0)) / r[LF] for r in rows]
one = [(r[LF] + r[FCOMMIT] + max(r[FISO] - r[FRUN], 0)) / r[LF] for r in rows]
print(f"  so at concurrency 1 the latency ratio cannot go below (peer + the namespaces' extra + 2 commits) / peer = {fmt(both)},")
print(f"  or {fmt(one)} with the first commit wholly hidden behind the launch;")
reach8 = [r[CF] / (r[CF] + max(r[FISOCPU] - r[FRUNCPU], 0) + 2 * r[FCCPU]) for r in rows]
print(f"  and at concurrency 8, both sides CPU-bound, the throughput ratio cannot pass")
print(f"  peer CPU / (peer CPU + the namespaces' extra CPU + 2 commits' CPU) = {fmt(reach8)}")
print(f"  a run's record at the least (its row inserted with its input, then its result written into it, each committed;")
print(f"  a table with no index but its key) {fmt(col(FREC), 3)} ms, {fmt(col(FRECCPU), 3)} ms of MariaDB's CPU")
rboth = [(r[LF] + r[FREC] + max(r[FISO] - r[FRUN], 0)) / r[LF] for r in rows]
rreach8 = [r[CF] / (r[CF] + max(r[FISOCPU] - r[FRUNCPU], 0) + r[FRECCPU]) for r in rows]
print(f"  so, a run logged completely: the latency ratio cannot go below {fmt(rboth)} (both statements in line),")
print(f"  the throughput ratio cannot pass {fmt(rreach8)}")
print(f"executions logged durably in MariaDB during the run: {logged} (fcgiwrap logs nothing)")
PY
