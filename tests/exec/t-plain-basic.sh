#!/bin/sh
# t-basic.sh without isolation (exit codes, signals, exec failures, accounting), as the venv builder's
# launches run: exec_run's child is the program itself, no init between.
EXEC_ISOLATE=0
. "$(dirname "$0")/t-basic.sh"
