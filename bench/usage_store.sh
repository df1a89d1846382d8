#!/usr/bin/env bash
# Runs usage_store_bench against SQLite and a throwaway PostgreSQL cluster: initdb into a temporary
# folder, start on a free loopback port, run, then stop it and delete the folder.
#   bench/usage_store.sh [BUILD_DIR] [benchmark flags...]     e.g. bench/usage_store.sh build-store
# The cluster keeps fsync and synchronous_commit on (as in production), so every batch's commit
# waits for the disk. initdb/postgres refuse to run as root: as root they run as `postgres`.
set -euo pipefail

build_dir="${1:-build}"
shift || true
bench="$build_dir/bench/usage_store_bench"
if [[ ! -x "$bench" ]]; then
  echo "usage_store.sh: $bench not built (ninja -C $build_dir usage_store_bench)" >&2
  exit 1
fi
bin_dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [[ -z "$bin_dir" || ! -x "$bin_dir/initdb" ]]; then
  echo "usage_store.sh: no PostgreSQL server in /usr/lib/postgresql/*/bin: run scripts/install-deps.sh test" >&2
  exit 1
fi

as_postgres=()
root=$(mktemp -d /tmp/baton-pg-bench-XXXXXX)
if [[ $(id -u) -eq 0 ]]; then
  as_postgres=(runuser -u postgres --)
  chown postgres: "$root"
fi
stop() {
  (cd "$root" && "${as_postgres[@]}" "$bin_dir/pg_ctl" -D "$root/data" -m immediate -w stop >/dev/null 2>&1) || true
  rm -rf "$root"
}
trap stop EXIT

cd_root_run() { (cd "$root" && "${as_postgres[@]}" "$@"); }  # postgres may not enter our working directory
cd_root_run "$bin_dir/initdb" -D "$root/data" -A trust -U baton -E UTF8 --locale=C --no-sync >"$root/initdb.log" 2>&1 ||
  { cat "$root/initdb.log" >&2; exit 1; }

# A port nothing listens on now; if postgres loses the race for it, try another.
started=0
for _ in 1 2 3 4 5; do
  port=$((20000 + RANDOM % 40000))
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && continue
  if cd_root_run "$bin_dir/pg_ctl" -D "$root/data" -l "$root/postgres.log" -w -t 60 \
      -o "-p $port -k $root -c listen_addresses=127.0.0.1" start >/dev/null; then
    started=1
    break
  fi
done
if [[ $started -eq 0 ]]; then
  echo "usage_store.sh: PostgreSQL did not start:" >&2
  tail -n 20 "$root/postgres.log" >&2 || true
  exit 1
fi
"$bin_dir/createdb" -h 127.0.0.1 -p "$port" -U baton baton_bench

echo "PostgreSQL $("$bin_dir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port, data in $root" >&2
BATON_BENCH_PG_URL="postgresql://baton@127.0.0.1:$port/baton_bench" "$bench" "$@"
