#!/bin/sh
# Installs what `npm start` / `npm test` need and is missing: npm packages, and Debian's influxdb (unless
# INFLUX_URL points at an existing server) and, for tests, the real peers they run: mosquitto and its clients,
# PostgreSQL, Redis, docker-compose (to validate the compose file), openssl, Chromium and CJK fonts.
set -e
mode="${1:-start}"
cd "$(dirname "$0")/.."

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "Installing npm packages (npm ci)... The first time this compiles better-sqlite3 from source where no"
  echo "prebuilt binary can be downloaded: about 3 minutes on 2 cores, without output until it is done."
  npm ci --no-audit --no-fund
fi

pkgs=""
if [ -z "${INFLUX_URL:-}" ] && ! command -v influxd >/dev/null 2>&1 && [ ! -x /usr/bin/influxd ]; then pkgs="$pkgs influxdb"; fi
if [ "$mode" = test ]; then
  command -v mosquitto_pub >/dev/null 2>&1 || pkgs="$pkgs mosquitto-clients"
  command -v docker-compose >/dev/null 2>&1 || pkgs="$pkgs docker-compose"
  command -v openssl >/dev/null 2>&1 || pkgs="$pkgs openssl"
  command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || pkgs="$pkgs mosquitto"
  [ -x /usr/lib/postgresql/15/bin/initdb ] || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || pkgs="$pkgs postgresql"
  command -v redis-server >/dev/null 2>&1 || pkgs="$pkgs redis-server"
  [ -x /usr/bin/chromium ] || pkgs="$pkgs chromium"
  [ -d /usr/share/fonts/opentype/noto ] || pkgs="$pkgs fonts-noto-cjk"
fi
if [ -n "$pkgs" ]; then
  echo "Installing Debian packages:$pkgs"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends $pkgs
fi
