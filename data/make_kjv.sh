#!/usr/bin/env bash
# Extracts data/kjv_genesis_ruth.txt, the character-level language-model corpus, from Debian's
# bible-kjv package (King James Version, 1611: public domain). Run from the repository root:
#   apt-get install bible-kjv && bash data/make_kjv.sh
# Output: Genesis 1:1 to Ruth 4:22, one verse per line without its number, a blank line between
# chapters, chapter headings dropped. The output is deterministic for a given package version
# (4.38 in Debian 12).
set -euo pipefail
out="$(dirname "$0")/kjv_genesis_ruth.txt"
bible -l100000 "gen1:1-rut4:22" |
  awk '/^[1-3]? ?[A-Z][a-z]+( [A-Z][a-z]+)* [0-9]+$/ { if (seen) print ""; seen = 1; next }
       /^ *[0-9]+ / { sub(/^ *[0-9]+ /, ""); print }' > "$out.tmp"
mv "$out.tmp" "$out"
wc -c "$out"
