#!/bin/sh
# t-io.sh without isolation (input and output, descriptors), as the venv builder's
# launches run: exec_run's child is the program itself, no init between.
EXEC_ISOLATE=0
. "$(dirname "$0")/t-io.sh"
