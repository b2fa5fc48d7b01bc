#!/bin/sh
# leftovers.sh ID: fails when a process started by `make test` outlived it.
#
# The Makefile marks the test run by exporting SCANFREE_TEST_RUN=ID; every
# process the tests start inherits it (servers, browsers, Xvfb, buses,
# private PostgreSQL servers, and anything those fork). Run this without
# the variable (env -u SCANFREE_TEST_RUN) so that it does not find itself.
# Processes still alive after a grace period are listed, killed, and fail
# the run.
id=${1:?usage: leftovers.sh ID}
if [ ! -r /proc/self/environ ]; then
	echo "leftovers: no /proc here; the check for processes left by the tests is skipped"
	exit 0
fi

marked() {
	for e in /proc/[0-9]*/environ; do
		pid=${e#/proc/}
		pid=${pid%/environ}
		[ "$pid" = "$PPID" ] && continue # the make recipe that exported the mark
		# Processes come and go while we read: a vanished one is not ours.
		if { tr '\0' '\n' <"$e"; } 2>/dev/null | grep -qx "SCANFREE_TEST_RUN=$id"; then
			echo "$pid"
		fi
	done
}

# Processes a test killed at its end may take a moment to be reaped.
i=0
while pids=$(marked) && [ -n "$pids" ] && [ $i -lt 50 ]; do
	sleep 0.2
	i=$((i + 1))
done
[ -z "$pids" ] && exit 0
echo "leftovers: processes started by the tests are still running after they ended:"
for p in $pids; do
	printf '  %s\n' "$(ps -o pid=,args= -p "$p" 2>/dev/null)"
done
echo "each test must stop what it starts (testutil.Own, t.Cleanup); killing them now"
# shellcheck disable=SC2086
kill -9 $pids 2>/dev/null
exit 1
