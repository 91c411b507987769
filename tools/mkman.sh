#!/usr/bin/env bash
# Writes a man page for ctxcache (section 1) to stdout from the command's own
# help texts, so that it cannot drift from them: `ctxcache help` and each
# command's --help, each as a verbatim section.
#   tools/mkman.sh build/ctxcache > ctxcache.1
set -euo pipefail
bin=${1:?usage: tools/mkman.sh PATH/TO/ctxcache}
version=$("$bin" version | sed -n 1p) # reads it all: head would close the pipe early (SIGPIPE, 141 under pipefail)
esc() { sed -e 's/\\/\\e/g' -e 's/^\./\\\&./' -e "s/^'/\\\\\&'/"; }
echo ".TH CTXCACHE 1 \"\" \"$version\" \"User Commands\""
echo ".SH NAME"
echo "ctxcache \\- simulate and benchmark LLM serving caches"
echo ".SH SYNOPSIS"
echo ".B ctxcache"
echo "COMMAND [options]"
echo ".SH DESCRIPTION"
echo ".nf"
"$bin" help | esc
echo ".fi"
cmds=$("$bin" help | awk '/^commands:/{on=1; next} on && /^  [a-z]/{print $1} on && /^$/{exit}')
for c in $cmds; do
  [ "$c" = help ] && continue
  echo ".SH \"ctxcache $c\""
  echo ".nf"
  "$bin" "$c" --help | esc
  echo ".fi"
done
echo ".SH FILES"
echo "Hardware and model profiles are looked up in \$CC_PROFILE_PATH, \$CTXCACHE_DATA/profiles,"
echo "sim/profiles of the working directory, next to the binary and in PREFIX/share/ctxcache/profiles."
