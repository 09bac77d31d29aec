#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The man pages and the bash completion name every command and long option
# the built binaries accept: each command of 'haven --help', each long option
# of 'haven COMMAND --help' and of 'havend --help' must appear in
# docs/man/haven.1.scd / havend.8.scd (as *--option*) and in
# tools/completion/haven (the command's option list).
# Usage: check-docs.sh BUILD_DIR SOURCE_DIR
set -uo pipefail
build=$1 src=$2
haven=$build/tools/haven havend=$build/firmware/havend
man1=$src/docs/man/haven.1.scd man8=$src/docs/man/havend.8.scd
completion=$src/tools/completion/haven
fail=0
problem() { echo "FAIL: $*"; fail=1; }

# long options of a GOption --help text, without GLib's own help options
long_options() {
  sed -n -E 's/^  +(-[a-zA-Z], )?--([a-z][a-z0-9-]*).*/\2/p' |
    grep -v -x -E 'help|help-all|help-[a-z-]+' | sort -u
}

# the completion's data, as bash sees it
# shellcheck disable=SC1090
complete() { :; }   # the file registers itself; not needed here
_init_completion() { :; }
. "$completion"

cmds=$("$haven" --help | sed -n -E '/^Commands:/,/^$/s/^  ([a-z][a-z-]*) .*/\1/p')
[ -n "$cmds" ] || problem "no commands parsed from 'haven --help'"
for c in $cmds; do
  case " $_haven_commands " in *" $c "*) ;; *) problem "completion: command '$c' missing from _haven_commands" ;; esac
  grep -q -E "^\*$c[* ]" "$man1" || problem "haven.1: command '$c' has no entry (a line starting *$c*)"
  opts=$("$haven" "$c" --help 2>&1 | long_options)
  for o in $opts; do
    case " $(_haven_options "$c") " in *" --$o "*) ;; *) problem "completion: haven $c --$o missing" ;; esac
    grep -q -F -- "*--$o*" "$man1" || problem "haven.1: haven $c --$o not documented (*--$o*)"
  done
  echo "haven $c: $(echo $opts | wc -w) options checked"
done
for c in $_haven_commands; do
  grep -q -x -F "$c" <<<"$cmds" || problem "completion offers '$c', which 'haven --help' does not list"
done

if [ -x "$havend" ]; then
  opts=$("$havend" --help | long_options)
  [ -n "$opts" ] || problem "no options parsed from 'havend --help'"
  for o in $opts; do
    grep -q -F -- "*--$o*" "$man8" || problem "havend.8: --$o not documented (*--$o*)"
  done
  echo "havend: $(echo $opts | wc -w) options checked"
fi
[ $fail = 0 ] && echo "man pages and completion match the binaries"
exit $fail
