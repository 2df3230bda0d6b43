# shellcheck shell=bash
# tests/package/container.sh - sourced by run.sh: boots the installed
# bookworm chroot with its own systemd as PID 1, as systemd-nspawn --boot
# would, so that the package's unit is started by the real service manager
# of the release it is built for, with every sandboxing directive of the
# installed unit applied by systemd itself (mount namespace, seccomp
# filters, capabilities, cgroup delegation), not by an imitation of it.
#
# The container: bubblewrap with its own pid, mount, IPC, UTS, network
# and cgroup namespaces; its cgroup namespace is rooted at a cgroup v2
# directory made for it below ours, so systemd inside sees a cgroup v2
# hierarchy of its own (as on a pure cgroup v2 host) and can delegate a
# subtree to the service. systemd mounts /sys, /run and /sys/fs/cgroup
# itself, as on a real boot.
#
#   container_boot ROOT LOGDIR   boots; sets CT_PID (PID 1 as seen from
#                                here); returns non-zero if the boot did
#                                not finish (state in LOGDIR/boot.log)
#   container_exec CMD...        runs CMD in all of the container's
#                                namespaces, as root, with a clean
#                                environment (like `machinectl shell`)
#   container_kill               ends every process of the container and
#                                removes its cgroups; safe to call twice

CT_PID=
CT_CG=
CT_JOB=

# The cgroup v2 directory we are in, as a path on this machine.
ct_own_cgroup2() {
	local mnt own
	mnt=$(findmnt -n -o TARGET -t cgroup2 | head -1)
	own=$(sed -n 's/^0:://p' /proc/self/cgroup)
	[ -n "$mnt" ] && [ -n "$own" ] || return 1
	[ "$own" = / ] && own=
	printf '%s%s\n' "$mnt" "$own"
}

container_boot() {	# container_boot ROOT LOGDIR
	local root=$1 logs=$2 parent state d _
	parent=$(ct_own_cgroup2) ||
		{ say "# no cgroup v2 mounted here: cannot boot systemd"; return 1; }
	# What a run that was killed outright left (its processes died with
	# it, the empty cgroups stayed).
	for d in "$parent"/scriptorch-pkgtest-*; do
		if [ -d "$d" ] && ! kill -0 "${d##*-}" 2>/dev/null &&
			grep -q '^populated 0' "$d/cgroup.events"; then
			find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
		fi
	done
	CT_CG=$parent/scriptorch-pkgtest-$$
	mkdir "$CT_CG" || return 1
	rm -f "$logs/bwrap-info.json"
	# The subshell moves itself into the container's cgroup before it
	# becomes bwrap, which then makes the cgroup namespace there.
	(
		echo "$BASHPID" >"$CT_CG/cgroup.procs" || exit 1
		exec bwrap --bind "$root" / --proc /proc --dev /dev \
			--unshare-pid --unshare-ipc --unshare-uts --unshare-net \
			--unshare-cgroup --as-pid-1 --hostname scriptorch-pkgtest \
			--die-with-parent --cap-add ALL --info-fd 3 \
			/usr/bin/env -i container=bwrap \
			PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
			/lib/systemd/systemd --show-status=no \
			systemd.unified_cgroup_hierarchy=1
	) 3>"$logs/bwrap-info.json" >"$logs/boot.log" 2>&1 </dev/null &
	CT_JOB=$!
	disown "$CT_JOB"	# no job report when container_kill ends it
	for _ in $(seq 1 100); do
		CT_PID=$(sed -n 's/.*"child-pid": *\([0-9]*\).*/\1/p' \
			"$logs/bwrap-info.json" 2>/dev/null)
		[ -n "$CT_PID" ] && break
		kill -0 "$CT_JOB" 2>/dev/null || break
		sleep 0.1
	done
	[ -n "$CT_PID" ] || { tail -20 "$logs/boot.log" >&2; return 1; }
	# Until the boot transaction is done; a failed unit only makes the
	# state "degraded" (in-chroot.sh lists them).
	for _ in $(seq 1 600); do
		state=$(container_exec systemctl is-system-running 2>/dev/null)
		case $state in
		running | degraded) return 0 ;;
		esac
		kill -0 "$CT_JOB" 2>/dev/null || break
		sleep 0.2
	done
	say "# boot did not finish (state '$state')"
	tail -30 "$logs/boot.log" >&2
	return 1
}

container_exec() {
	nsenter -t "$CT_PID" -a -r -w /usr/bin/env -i \
		PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
		DEBIAN_FRONTEND=noninteractive "$@"
}

container_kill() {
	local _ d
	[ -n "$CT_CG" ] || return 0
	# The whole tree at once, systemd included: nothing of the
	# container needs an orderly shutdown (it is thrown away).
	[ -e "$CT_CG/cgroup.kill" ] && echo 1 >"$CT_CG/cgroup.kill"
	[ -n "$CT_JOB" ] && kill -KILL "$CT_JOB" 2>/dev/null
	for _ in $(seq 1 100); do
		grep -q '^populated 0' "$CT_CG/cgroup.events" 2>/dev/null && break
		sleep 0.1
	done
	for _ in $(seq 1 100); do
		if [ -z "$CT_JOB" ] || ! kill -0 "$CT_JOB" 2>/dev/null; then
			break
		fi
		sleep 0.1
	done
	# Deepest first: systemd's slices and units, then ours.
	find "$CT_CG" -depth -type d 2>/dev/null | while IFS= read -r d; do
		rmdir "$d" 2>/dev/null
	done
	[ -e "$CT_CG" ] && say "# could not remove the cgroup $CT_CG"
	CT_CG='' CT_JOB='' CT_PID=''
}
