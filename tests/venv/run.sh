#!/bin/sh
# TAP tests for libexec/scriptorch-venv; exit status non-zero on any failure.
# Needs root (file ownership and `nobody` checks), /usr/bin/python3 with pip.
exec /usr/bin/python3 -I "$(dirname "$0")/test_venv.py" "$@"
