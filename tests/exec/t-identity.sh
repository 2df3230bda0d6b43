#!/bin/sh
# Dropping to the run user, and work directories.
. "${EXEC_TEST_LIB:-$(dirname "$0")/lib.sh}"

# Dropping to another user needs root. A developer's run as another user
# skips the whole file (dev/test and CI run as root, and count a 1..0
# plan as a failure): as root every test below runs.
if [ "$(id -u)" != 0 ]; then
	echo "1..0 # SKIP needs root"
	exit 0
fi
nobody_uid=$(id -u nobody)
nobody_gid=$(id -g nobody)

run_exec --user nobody --stdout-file "$T/o" -- /bin/sh -c 'id -u; id -g; id -G'
is "$(cat "$T/o" | tr '\n' ' ')" "$nobody_uid $nobody_gid $nobody_gid " \
    "runs as nobody, no supplementary groups"
ok_if "uid is not 0" '[ -s "$T/o" ] && [ "$(head -n 1 "$T/o")" != 0 ]'
run_exec --user nobody --stdout-file "$T/o" -- /bin/sh -c 'grep -E "^(Uid|Gid|CapEff)" /proc/$$/status | tr -s "\t" " "'
is "$(cat "$T/o" | tr '\n' ' ')" \
    "Uid: $nobody_uid $nobody_uid $nobody_uid $nobody_uid Gid: $nobody_gid $nobody_gid $nobody_gid $nobody_gid CapEff: 0000000000000000 " \
    "real, effective, saved ids dropped; no capabilities"

printf '#!/bin/sh\necho secret\n' >"$T/rootonly"
chmod 0700 "$T/rootonly"
run_exec --user nobody -- "$T/rootonly"
is "$(val error)" "cannot execute \"$T/rootonly\": Permission denied" \
    "a program the run user may not execute"

# Work dir: fresh, 0700, owned by the run user, removed afterwards even
# when the script made things read-only, unreadable, or linked outside.
mkdir -m 0755 "$T/base"
echo keep >"$T/outside"
run_exec --workdir "$T/base" --user nobody --stdout-file "$T/o" -- /bin/sh -c '
stat -c "%a %U" .; echo "$PWD"
mkdir -p d/e/f; echo x >d/e/f/file; chmod 0444 d/e/f/file
chmod 0 d/e/f; chmod 0500 d/e; chmod 0 d
ln -s '"$T/outside"' link; ln -s / rootlink; mkdir ro; chmod 0 ro'
wd=$(val workdir)
is "$(head -n 1 "$T/o")" "700 nobody" "work dir is 0700 and owned by the run user"
is "$(sed -n 2p "$T/o")" "$wd" "work dir is the child's cwd"
is "$(val workdir_removed)" 1 "work dir removed"
ok_if "work dir gone" '[ -n "$wd" ] && [ ! -e "$wd" ]'
is "$(cat "$T/outside")" keep "a symlink's target is left alone"
ok_if "base dir left, empty" \
    '[ -d "$T/base" ] && [ -z "$(ls -A "$T/base")" ]'

# The same cleanup by an unprivileged caller, for whom mode 0000 matters.
ok_if "setpriv (util-linux) is there to run test-exec unprivileged" \
    'command -v setpriv >/dev/null'
if command -v setpriv >/dev/null; then
	mkdir -m 0755 "$T/nbase"
	chown "$nobody_uid:$nobody_gid" "$T/nbase"
	# nobody runs a copy in $T: the build tree may sit where nobody
	# cannot reach it (a checkout under /root, a mktemp -d directory,
	# dpkg-buildpackage's copy), and this test is about the cleanup.
	install -m 0755 "$TEST_EXEC" "$T/test-exec"
	setpriv --reuid="$nobody_uid" --regid="$nobody_gid" --clear-groups \
	    timeout 60 "$T/test-exec" --workdir "$T/nbase" --stdout-file /dev/null \
	    -- /bin/sh -c 'mkdir -p d/e; echo x >d/e/f; chmod 0 d/e; chmod 0500 d; mkdir z; chmod 0 z' \
	    >"$T/res" 2>"$T/log"
	is "$(val result):$(val workdir_removed)" ok:1 \
	    "unprivileged caller removes dirs the script made 0000 / read-only"
	ok_if "and it is gone, its base left empty" \
	    '[ -n "$(val workdir)" ] && [ ! -e "$(val workdir)" ] &&
	     [ -d "$T/nbase" ] && [ -z "$(ls -A "$T/nbase")" ]'
fi

# Each run gets a fresh dir: two runs that keep theirs, each leaving a
# file there, have two dirs under the base, and each found its own empty.
run_exec --workdir "$T/base" --keep-workdir --user nobody \
    --stdout-file "$T/o1" -- /bin/sh -c 'ls -A; echo 1 >mine'
wd1=$(val workdir)
run_exec --workdir "$T/base" --keep-workdir --user nobody \
    --stdout-file "$T/o2" -- /bin/sh -c 'ls -A; echo 2 >mine'
wd2=$(val workdir)
ok_if "--keep-workdir keeps each under the base" \
    '[ "${wd1%/*}" = "$T/base" ] && [ "${wd2%/*}" = "$T/base" ] &&
     [ "$(cat "$wd1/mine"):$(cat "$wd2/mine")" = 1:2 ]'
ok_if "each run gets a fresh dir: a new one" \
    '[ "$wd1" != "$wd2" ] && [ "$wd1" != "$wd" ] && [ "$wd2" != "$wd" ]'
ok_if "each run gets a fresh dir: empty when the script starts" \
    '[ -e "$T/o1" ] && [ ! -s "$T/o1" ] && [ -e "$T/o2" ] && [ ! -s "$T/o2" ]'

done_testing
