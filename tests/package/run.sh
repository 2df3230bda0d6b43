#!/usr/bin/env bash
# tests/package/run.sh - the Debian package, end to end, as TAP:
#  1. copies the working tree (tracked and untracked files, not ignored
#     ones: uncommitted work is included) to a temp dir and builds the
#     .deb there with dpkg-buildpackage -us -uc -b;
#  2. runs lintian on it (no errors, no warnings that are not overridden);
#  3. installs it with its dependencies into a fresh bookworm minbase
#     (made by mmdebstrap or debootstrap) entered with bubblewrap;
#  4. boots that chroot with its own systemd as PID 1 (container.sh: own
#     pid, mount, network and cgroup namespaces) and runs
#     tests/package/in-chroot.sh there: MariaDB and nginx as the boot
#     started them, the daemon started by systemd from the installed unit
#     with all of its sandboxing, a probe run that checks the sandbox from
#     inside, the site over HTTPS with ssl-cert's snakeoil certificate
#     (TLS versions, HSTS, the 308 redirect from port 80), a smoke test
#     over HTTPS, the same .deb over itself (postinst restarts the unit),
#     purge (prerm stops it).
# Needs root and a cgroup v2 hierarchy. Leaves this machine as it was,
# except the package cache below.
#
# Environment:
#   SCRIPTORCH_PKG_CACHE   where the bootstrapped base (one tarball per day)
#                          and the downloaded .debs are kept between runs
#                          (default /var/cache/scriptorch-test; empty: none)
#   SCRIPTORCH_PKG_MIRROR  Debian mirror (default http://deb.debian.org/debian)
#   SCRIPTORCH_PKG_BOOTSTRAP  mmdebstrap (default) or debootstrap
#   KEEP_STATE=1           keep the work dir (build tree, chroot, logs)
set -uo pipefail
. "$(dirname "$0")/../../dev/lib.sh"
. "$(dirname "$0")/container.sh"

SUITE=bookworm
MIRROR=${SCRIPTORCH_PKG_MIRROR:-http://deb.debian.org/debian}
CACHE=${SCRIPTORCH_PKG_CACHE-/var/cache/scriptorch-test}
T0=$(date +%s)
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
nok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
check() {	# check DESC CMD...
	local d=$1; shift
	if "$@" >&2; then ok "$d"; else nok "$d"; return 1; fi
}
lap() {		# lap WHAT: seconds since the last lap, on stderr
	local now; now=$(date +%s)
	say "# $1: $((now - ${LAP:-$T0})) s"
	LAP=$now
}

[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root (dpkg, debootstrap, bwrap)"; exit 0; }
BOOTSTRAP=${SCRIPTORCH_PKG_BOOTSTRAP:-mmdebstrap}
need_pkgs $BUILD_PKGS debhelper dpkg-dev fakeroot lintian "$BOOTSTRAP" \
	bubblewrap git tar util-linux

WORK=$(mktemp -d /tmp/scriptorch-pkg.XXXXXX)
LOGS=$WORK/logs
ROOT=$WORK/root
mkdir -p "$LOGS"
LINTIAN_PID=
cleanup() {
	[ -n "$LINTIAN_PID" ] && kill "$LINTIAN_PID" 2>/dev/null
	container_kill
	if [ "${KEEP_STATE:-0}" = 1 ]; then
		say "# work dir kept: $WORK"
	else
		rm -rf "$WORK"
	fi
}
finish() {
	echo "1..$n"
	say "# package tests took $(($(date +%s) - T0)) s"
	cleanup
	[ "$failed" = 0 ]
	exit
}
trap 'cleanup; exit 1' INT TERM

# ---- 1. build ---------------------------------------------------------------
VERSION=$(dpkg-parsechangelog -l "$REPO/debian/changelog" -S Version)
ARCH=$(dpkg --print-architecture)
SRC=$WORK/src/scriptorch-$VERSION
DEB_NAME=scriptorch_${VERSION}_$ARCH.deb
DEB=$WORK/src/$DEB_NAME
mkdir -p "$SRC"
(cd "$REPO" && git ls-files -z -c -o --exclude-standard) |
	while IFS= read -r -d '' f; do
		[ -e "$REPO/$f" ] && printf '%s\0' "$f"
	done | (cd "$REPO" && tar --null -T - -cf -) | tar -xf - -C "$SRC"
(cd "$SRC" && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" \
	dpkg-buildpackage -us -uc -b) >"$LOGS/build.log" 2>&1
check "dpkg-buildpackage -us -uc -b builds $DEB_NAME" test -f "$DEB" ||
	{ tail -40 "$LOGS/build.log" >&2; finish; }
lap "build"

# ---- 2. lintian (in the background, while the chroot is made) -----------
lintian --info --display-level '>=info' "$DEB" >"$LOGS/lintian.out" 2>&1 &
LINTIAN_PID=$!

# ---- 3. a fresh bookworm -------------------------------------------------
base_tar=
[ -n "$CACHE" ] && base_tar=$CACHE/$SUITE-minbase-$(date +%Y%m%d).tar
if [ -n "$base_tar" ] && [ -f "$base_tar" ]; then
	mkdir -p "$ROOT" && tar -xf "$base_tar" -C "$ROOT"
	check "bookworm minbase from today's cached debootstrap" test -x "$ROOT/usr/bin/apt-get"
else
	# mmdebstrap makes the same minbase as debootstrap, several times
	# faster (apt resolves the dependencies, not a shell loop).
	if [ "$BOOTSTRAP" = mmdebstrap ]; then
		mmdebstrap --variant=minbase --mode=root "$SUITE" "$ROOT" "$MIRROR"
	else
		debootstrap --variant=minbase "$SUITE" "$ROOT" "$MIRROR"
	fi >"$LOGS/bootstrap.log" 2>&1
	check "$BOOTSTRAP --variant=minbase $SUITE" test -x "$ROOT/usr/bin/apt-get" ||
		{ tail -20 "$LOGS/bootstrap.log" >&2; finish; }
	rm -f "$ROOT"/var/cache/apt/archives/*.deb
	if [ -n "$base_tar" ] && mkdir -p "$CACHE"; then
		rm -f "$CACHE/$SUITE"-minbase-*.tar
		tar -cf "$base_tar.tmp" -C "$ROOT" . && mv "$base_tar.tmp" "$base_tar"
	fi
fi
lap "chroot base"

# Every command in the chroot: its own pid, IPC and UTS namespaces (all
# its processes end with it), a fresh /run as after a boot, root with all
# capabilities, a clean environment.
in_chroot() {	# in_chroot [bwrap options] -- COMMAND...
	local opts=()
	while [ "$1" != -- ]; do opts+=("$1"); shift; done
	shift
	bwrap --bind "$ROOT" / --proc /proc --dev /dev --tmpfs /run \
		--unshare-pid --unshare-ipc --unshare-uts --hostname scriptorch-pkgtest \
		--die-with-parent --cap-add ALL "${opts[@]}" \
		/usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
		LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
}

# No service starts from maintainer scripts during the install (there is
# no init yet); removed before the boot below.
printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
chmod 755 "$ROOT/usr/sbin/policy-rc.d"
cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf"
mkdir -p "$ROOT/root/pkgtest"
cp "$DEB" "$REPO/tests/package/in-chroot.sh" "$ROOT/root/pkgtest/"
archives=()
if [ -n "$CACHE" ]; then
	mkdir -p "$CACHE/archives/partial"
	archives=(--bind "$CACHE/archives" /var/cache/apt/archives)
fi
in_chroot "${archives[@]}" -- sh -c "apt-get update -qq &&
	apt-get install -y -q --no-install-recommends /root/pkgtest/$DEB_NAME \
		mariadb-server nginx curl" >"$LOGS/install.log" 2>&1
check "apt-get installs the .deb with its dependencies (bookworm)" \
	test -x "$ROOT/usr/sbin/scriptorchd" || tail -40 "$LOGS/install.log" >&2
lap "install"

check "postinst made the run user _scriptorch-run (sysusers)" \
	grep -q '^_scriptorch-run:' "$ROOT/etc/passwd"
check "the conffile names it and is root-only (0640)" \
	sh -c "grep -qx 'run_user = _scriptorch-run' '$ROOT/etc/scriptorch/scriptorch.conf' &&
		test \"\$(stat -c %a '$ROOT/etc/scriptorch/scriptorch.conf')\" = 640"
check "postinst made the callback secret: 64 hex characters, root's only (0600)" \
	sh -c "test \"\$(stat -c %a '$ROOT/etc/scriptorch/callback.secret')\" = 600 &&
		grep -qxE '[0-9a-f]{64}' '$ROOT/etc/scriptorch/callback.secret'"
check "postinst enabled the unit" \
	test -L "$ROOT/etc/systemd/system/multi-user.target.wants/scriptorch.service"
check "postinst says the database is not reachable yet, and how to go on" \
	grep -q 'scriptorch:   scriptorchd migrate' "$LOGS/install.log"
market_files() {	# every item with its metadata, docs and script; frame-stats an ELF
	local m=$ROOT/usr/share/scriptorch/marketplace i
	for i in color-correct:color-correct.sh watermark:watermark.sh \
		extract-frames:extract-frames.sh sequence-check:sequence_check.py \
		frame-stats:frame-stats; do
		test -f "$m/${i%%:*}/item.json" -a -f "$m/${i%%:*}/README.md" -a \
			-f "$m/${i%%:*}/${i#*:}" || { echo "missing: $i"; return 1; }
	done
	test -f "$m/color-correct/luts/warm.cube" -a -x "$m/watermark/watermark.sh" &&
		test "$(head -c 4 "$m/frame-stats/frame-stats" | od -An -c | tr -d ' ')" = '177ELF' &&
		test -x "$m/frame-stats/frame-stats" &&
		test -z "$(find "$m" -name '*.[cho]' -o -name '.*')"
}
check "the marketplace is installed in /usr/share/scriptorch/marketplace (frame-stats built; no sources, objects or dot files)" \
	market_files
check "ffmpeg is a Recommends of the package" \
	sh -c "dpkg-deb -f '$DEB' Recommends | grep -qw ffmpeg"
check "the nginx site is installed, not enabled, and postinst says so" \
	sh -c "test -f '$ROOT/etc/nginx/sites-available/scriptorch' &&
		test ! -e '$ROOT/etc/nginx/sites-enabled/scriptorch' &&
		grep -q 'is not enabled' '$LOGS/install.log'"

# ---- 4. booted with systemd: the unit as systemd runs it ----------------
# From here on the maintainer scripts may start, restart and stop the
# unit, as on a real system.
rm -f "$ROOT/usr/sbin/policy-rc.d"
finished=no
if check "the chroot boots with its own systemd as PID 1 (running or degraded)" \
	container_boot "$ROOT" "$LOGS"; then
	lap "boot"
	while IFS= read -r line; do
		case $line in
		"ok the in-chroot steps ran to the end") finished=yes ;;
		"ok "*) ok "${line#ok }" ;;
		"not ok "*) nok "${line#not ok }" ;;
		esac
	done < <(container_exec /bin/bash /root/pkgtest/in-chroot.sh \
		"/root/pkgtest/$DEB_NAME" 2>"$LOGS/in-chroot.err")
	container_kill
fi
check "the in-chroot steps ran to the end" test "$finished" = yes
[ "$failed" = 0 ] || tail -60 "$LOGS/in-chroot.err" >&2
lap "sandbox probe, smoke, upgrade, purge"

# ---- lintian's verdict ------------------------------------------------------
wait "$LINTIAN_PID"
LINTIAN_PID=
cat "$LOGS/lintian.out" >&2
check "lintian: no errors" sh -c "! grep -E '^E: ' '$LOGS/lintian.out'"
check "lintian: no warnings (the rest are overridden, with reasons)" \
	sh -c "! grep -E '^W: ' '$LOGS/lintian.out'"
lap "lintian (waited for)"
finish
