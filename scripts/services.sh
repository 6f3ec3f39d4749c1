#!/usr/bin/env bash
# Make sure PostgreSQL (127.0.0.1:5432, database test) and Redis (127.0.0.1:6379) answer.
set -uo pipefail
pg_ok() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null || (echo > /dev/tcp/127.0.0.1/5432) 2>/dev/null; }
redis_ok() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }
if ! pg_ok; then
  echo "starting PostgreSQL"
  if command -v pg_ctlcluster >/dev/null; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  fi
  for _ in $(seq 1 30); do pg_ok && break; sleep 1; done
fi
if ! redis_ok; then
  echo "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
  for _ in $(seq 1 30); do redis_ok && break; sleep 1; done
fi
pg_ok || { echo "PostgreSQL is not answering on 127.0.0.1:5432" >&2; exit 1; }
redis_ok || { echo "Redis is not answering on 127.0.0.1:6379" >&2; exit 1; }
psql -h 127.0.0.1 -U postgres -d test -qAtc 'select 1' >/dev/null 2>&1 \
  || psql -h 127.0.0.1 -U postgres -qc 'CREATE DATABASE test' >/dev/null 2>&1 || true
echo "PostgreSQL and Redis answer"
