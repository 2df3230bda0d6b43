#!/bin/sh
# t-kill.sh without isolation (every kill path), as the venv builder's
# launches run: exec_run's child is the program itself, no init between.
EXEC_ISOLATE=0
. "$(dirname "$0")/t-kill.sh"
