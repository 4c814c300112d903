#!/bin/sh
# Installs the Debian 12 packages sbir needs to build, test and benchmark. Safe to re-run: it only
# calls apt-get when something is missing. Needs root (or sudo).
set -e
PKGS="build-essential pkg-config libdnnl-dev libopenblas-dev libsqlite3-dev libjpeg62-turbo-dev libpng-dev
      libcairo2-dev libcjson-dev libmicrohttpd-dev zlib1g-dev libcurl4-openssl-dev libfaiss-dev sqlite3 chromium
      firefox-esr"
[ -n "$SBIR_WITH_TORCH" ] && PKGS="$PKGS python3-torch python3-numpy"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
echo "installing:$missing"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
