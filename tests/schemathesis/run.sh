#!/usr/bin/env bash
# Fuzzes the real `gocua` server against its own OpenAPI document
# (GET /api/openapi.json) with schemathesis: no answer may be a server
# error (5xx), and every answer must have a documented status, content type,
# headers and body schema.
#
# Installs what it needs (a Python venv under target/, pinned in
# requirements.txt beside this file) and builds the binary. Then, for each
# database (a fresh SQLite file; a fresh PostgreSQL database too when the
# test server at GOCUA_TEST_PG answers, as in tests/run-all.sh), it starts
# `gocua serve` with an officer and a leader in it, runs schemathesis once
# as each of them, and stops the server whatever happens.
#
# Usage: bash tests/schemathesis/run.sh [more `st run` options]
# Environment:
#   SCHEMATHESIS_MAX_EXAMPLES  test cases per operation and run (default 200)
#   SCHEMATHESIS_SEED          default 20251122: the same seed, the same requests
#   SCHEMATHESIS_BACKENDS      default "sqlite postgres" (postgres is skipped,
#                              with a note, when unreachable)
#   GOCUA_TEST_PG              PostgreSQL admin URL, as for the cargo tests
#                              (default postgres://postgres@127.0.0.1:5432/test)
#   PYTHON                     interpreter for the venv (default python3)
set -euo pipefail
cd "$(dirname "$0")/../.."

say() { printf '[schemathesis] %s\n' "$*"; }
die() {
  say "FAILED: $*" >&2
  exit 1
}

here=tests/schemathesis
venv=target/venv-schemathesis
max_examples=${SCHEMATHESIS_MAX_EXAMPLES:-200}
seed=${SCHEMATHESIS_SEED:-20251122}
backends=${SCHEMATHESIS_BACKENDS:-sqlite postgres}
pg_admin=${GOCUA_TEST_PG:-postgres://postgres@127.0.0.1:5432/test}
commune=00004

# 1. schemathesis, pinned. The venv is rebuilt when the pins change.
if [[ ! -x $venv/bin/st ]] || ! cmp -s "$here/requirements.txt" "$venv/requirements.txt"; then
  say "installing schemathesis into $venv"
  rm -rf "$venv"
  "${PYTHON:-python3}" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
  cp "$here/requirements.txt" "$venv/requirements.txt"
fi
say "$("$venv/bin/st" --version)"

# 2. The server binary (a no-op when cargo already built it).
say "building gocua"
cargo build --quiet -p gocua-server --bin gocua --locked
gocua=target/debug/gocua

work=$(mktemp -d)
server_pid=
pg_db=
stop_server() {
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  server_pid=
}
drop_pg_db() {
  if [[ -n $pg_db ]]; then
    psql -q "$pg_admin" -c "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  pg_db=
}
cleanup() {
  stop_server
  drop_pg_db
  rm -rf "$work"
}
trap cleanup EXIT

password=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
failures=0
runs=0

# Starts the server on database URL $1 (port picked by the kernel and read
# back from its JSON log; a rate limit high enough that the fuzzer is not
# answered 429) and sets $base once /healthz answers.
start_server() {
  local db=$1 log=$work/server.log addr= ready=
  GOCUA_RATE_PER_MINUTE=100000 RUST_LOG=info,sqlx=warn \
    "$gocua" serve --db "$db" --bind 127.0.0.1:0 --log-json >"$log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 150); do
    kill -0 "$server_pid" 2>/dev/null || { cat "$log" >&2; die "the server exited"; }
    addr=$(grep -o '"addr":"[^"]*"' "$log" | head -n1 | cut -d'"' -f4 || true)
    [[ -n $addr ]] && break
    sleep 0.1
  done
  [[ -n $addr ]] || { cat "$log" >&2; die "the server did not say where it listens"; }
  base="http://$addr"
  for _ in $(seq 1 100); do
    if curl -fsS "$base/healthz" >/dev/null 2>&1; then
      ready=1
      break
    fi
    sleep 0.1
  done
  [[ -n $ready ]] || { cat "$log" >&2; die "$base/healthz did not answer"; }
}

# Prints an access token for user $1.
login() {
  curl -fsS "$base/api/v1/auth/login" -H 'content-type: application/json' \
    -d "{\"username\":\"$1\",\"password\":\"$password\",\"device_id\":\"schemathesis-$1\"}" |
    "$venv/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["access_token"])'
}

# Prints the id of the user whose access token is $1.
user_id() {
  curl -fsS "$base/api/v1/me" -H "Authorization: Bearer $1" |
    "$venv/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["id"])'
}

# Writes the schemathesis settings for this server: strings that exist in
# its database (the officer's user and device ids, the hamlet, the login
# names) and strings PostgreSQL refuses (NUL), mixed into a share of the
# strings the fuzzer makes up, so that it gets past "no such id" into the
# handlers and the database. Failures are kept for `st replay` under
# target/schemathesis.
write_config() {
  cat >"$work/schemathesis.toml" <<EOF
[cache]
directory = "$PWD/target/schemathesis"

[dictionaries.known]
values = ["$1", "schemathesis-officer", "h1", "officer", "leader", "$commune", "a\u0000b", "\u0000"]

[dictionaries.hamlets]
values = ["h1"]

[generation.dictionaries]
string = { dictionary = "known", probability = 0.3 }

[[operations]]
include-path = "/api/v1/users/{id}/hamlets"
parameters = { "body.hamlets[*]" = { dictionary = "hamlets", probability = 0.8 } }
EOF
}

# Prepares database $2, serves it and fuzzes it as each role; $1 names the
# backend. Further arguments go to `st run`.
fuzz() {
  local backend=$1 db=$2 role token started status
  shift 2
  say "[$backend] preparing a hamlet, an officer and a leader"
  "$gocua" add-hamlet --db "$db" --commune "$commune" --id h1 --name "Tổ dân phố 1" >/dev/null
  GOCUA_NEW_PASSWORD=$password "$gocua" add-user --db "$db" --username officer \
    --name "Cán bộ thử" --role officer --commune "$commune" --hamlet h1 >/dev/null
  GOCUA_NEW_PASSWORD=$password "$gocua" add-user --db "$db" --username leader \
    --name "Lãnh đạo thử" --role leader --commune "$commune" >/dev/null
  start_server "$db"
  say "[$backend] server ready at $base"
  local officer_id
  officer_id=$(user_id "$(login officer)") || die "[$backend] could not log in as officer"
  write_config "$officer_id"
  for role in officer leader; do
    token=$(login "$role") || die "[$backend] could not log in as $role"
    say "[$backend] as $role: $max_examples examples per operation, seed $seed"
    started=$SECONDS
    status=0
    # One worker: on Python 3.11 before 3.11.8, hypothesis' concurrent
    # ast.parse calls fail with "AST constructor recursion depth mismatch".
    "$venv/bin/st" --config-file "$work/schemathesis.toml" run "$base/api/openapi.json" \
      --header "Authorization: Bearer $token" \
      --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
      --max-examples "$max_examples" \
      --seed "$seed" \
      --generation-database none \
      --request-timeout 30 \
      --workers 1 \
      --no-color \
      "$@" || status=$?
    say "[$backend] as $role: schemathesis exit $status after $((SECONDS - started)) s"
    runs=$((runs + 1))
    [[ $status -eq 0 ]] || failures=$((failures + 1))
  done
  stop_server
  if grep -q '"level":"ERROR"' "$work/server.log"; then
    say "[$backend] the server logged errors:" >&2
    grep '"level":"ERROR"' "$work/server.log" | head -n 20 >&2
    failures=$((failures + 1))
  fi
}

for backend in $backends; do
  case $backend in
    sqlite)
      fuzz sqlite "sqlite://$work/s.db" "$@"
      ;;
    postgres)
      if ! command -v psql >/dev/null; then
        say "[postgres] skipped: no psql client"
        continue
      fi
      if ! psql -q "$pg_admin" -c 'SELECT 1' >/dev/null 2>&1; then
        say "[postgres] skipped: nothing answers at $pg_admin"
        continue
      fi
      pg_db=gocua_schemathesis_$$_$RANDOM
      psql -q "$pg_admin" -c "CREATE DATABASE $pg_db" >/dev/null
      fuzz postgres "${pg_admin%/*}/$pg_db" "$@"
      drop_pg_db
      ;;
    *) die "unknown backend $backend (sqlite, postgres)" ;;
  esac
done

[[ $runs -gt 0 ]] || die "no backend could be fuzzed"
[[ $failures -eq 0 ]] || die "$failures of $runs run(s) found problems; see above"
say "passed: $runs runs, no server errors, every answer as documented"
