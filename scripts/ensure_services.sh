#!/usr/bin/env bash
# Start the local PostgreSQL and Redis that the integration tests use, if they are down,
# and install the Chromium that the dashboard's browser tests drive.
set -uo pipefail
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  fi
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  if command -v redis-server >/dev/null; then
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
  fi
fi
# The dashboard's browser tests drive Debian's Chromium (never `playwright install`, which
# downloads browsers); without it they fail and say how to install it.
if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; } \
      || echo "warning: could not install chromium; tests/dashboard will fail" >&2
  else
    echo "warning: chromium is missing (sudo apt-get install chromium); tests/dashboard will fail" >&2
  fi
fi
for _ in $(seq 1 30); do
  pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null && redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && exit 0
  sleep 1
done
echo "warning: PostgreSQL or Redis is not reachable on 127.0.0.1; service tests will fail" >&2
