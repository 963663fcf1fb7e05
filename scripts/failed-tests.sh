#!/usr/bin/env bash
# Sourced by the scripts that run tests into a log and summarise them (test-engines.sh,
# test-remote.sh): `failed_tests LOG` prints one line per failed test of a cargo test log, its
# name, where it panicked and the first 300 characters of its message, so a CI summary says why;
# a log that names no failed test (a build or a set-up that failed) is shown by its last lines.
failed_tests() {
  local lines
  lines=$(awk '
    /^---- .* stdout ----$/ { name = $2; message = ""; grab = 0; next }
    name != "" && / panicked at / { at = $NF; sub(/:$/, "", at); grab = 1; next }
    grab && (/^stack backtrace:/ || /^note: / || /^---- / || /^failures:$/) {
      print name " (" at ") " substr(message, 1, 300); name = ""; grab = 0; next
    }
    grab && NF { sub(/^ +/, ""); message = message (message == "" ? "" : " | ") $0 }
  ' "$1")
  if [ -n "$lines" ]; then
    printf '%s\n' "$lines"
  else
    echo "no failed test named; the log ends:"
    tail -n 15 "$1"
  fi
}
