#!/usr/bin/env bash
# Runs every test of Gõ Cửa: formatting, lints, unit, property, crash,
# browser and doc tests. Installs what it needs. Usage: bash tests/run-all.sh
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> [%dm%02ds] %s\n' $((SECONDS / 60)) $((SECONDS % 60)) "$*"; }

step "Toolchain components"
rustup component add rustfmt clippy >/dev/null 2>&1 || true
if ! command -v cargo-nextest >/dev/null 2>&1; then
  step "Installing cargo-nextest"
  cargo install --locked cargo-nextest
fi

step "PostgreSQL at 127.0.0.1:5432 (the server tests run on it and on SQLite)"
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
  for _ in $(seq 1 50); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 0.2; done
fi
pg_isready -h 127.0.0.1 -p 5432

step "Python readers for the export tests (openpyxl in target/py-tests)"
if [ ! -x target/py-tests/bin/python ]; then
  python3 -m venv target/py-tests
fi
target/py-tests/bin/pip install --quiet --disable-pip-version-check -r tests/requirements-test.txt
export GOCUA_PYTHON="$PWD/target/py-tests/bin/python"

step "Browser for the review-page tests (Debian's Chromium, playwright-core from npm)"
if [ ! -x /usr/bin/chromium ]; then
  sudo=; [ "$(id -u)" -eq 0 ] || sudo=sudo
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y -q chromium >/dev/null 2>&1 || {
    $sudo apt-get update -q >/dev/null
    $sudo apt-get install -y -q chromium >/dev/null
  }
fi
npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error

step "Formatting (cargo fmt --check)"
cargo fmt --all -- --check

step "Lints (cargo clippy -D warnings)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "Tests (cargo nextest)"
cargo nextest run --workspace --locked --no-fail-fast

step "Doc tests"
cargo test --workspace --doc --locked

step "Bindings (Kotlin on the JVM, Python, Swift checks) against a real server"
bash mobile-ffi/bindings-tests/run.sh

step "API fuzzing (schemathesis against the served OpenAPI document)"
bash tests/schemathesis/run.sh

step "All tests passed"
