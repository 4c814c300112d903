#!/bin/sh
# embed_web.sh WEBDIR > web_assets.c — turns the page's files into C byte arrays (web_assets.h), so
# `sbir serve` carries its page inside the binary. Only od and awk (POSIX), so it runs wherever the
# build does. The output depends on the files' bytes and names alone (sorted, C locale): the same
# web/ always gives the same web_assets.c, which tests/test_serve.c checks against web/.
set -e
dir=${1:-web}
echo '/* web_assets.c — GENERATED from web/ by src/serve/embed_web.sh (make web-assets): do not edit. */'
echo '#include "serve/web_assets.h"'
echo
n=0
list=""
for path in $(LC_ALL=C ls "$dir" | LC_ALL=C sort); do
  case "$path" in
    *.html) type="text/html; charset=utf-8" ;;
    *.js) type="text/javascript; charset=utf-8" ;;
    *.css) type="text/css; charset=utf-8" ;;
    *.svg) type="image/svg+xml" ;;
    *.png) type="image/png" ;;
    *) continue ;;
  esac
  size=$(wc -c < "$dir/$path" | tr -d ' ')
  echo "static const unsigned char asset_$n[] = {"
  od -An -v -tu1 "$dir/$path" | awk '{ s = "   "; for (i = 1; i <= NF; i++) s = s " " $i ","; print s }'
  echo "    0}; /* $path */"
  list="$list    {\"/$path\", \"$type\", asset_$n, $size},
"
  n=$((n + 1))
done
echo
echo "const web_asset web_assets[] = {"
printf '%s' "$list"
echo "};"
echo "const size_t web_assets_count = $n;"
