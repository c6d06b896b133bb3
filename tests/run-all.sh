#!/usr/bin/env bash
# Runs every test of Gõ Cửa: formatting, lints, unit, property, crash and
# doc tests. Installs what it needs. Usage: bash tests/run-all.sh
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "Toolchain components"
rustup component add rustfmt clippy >/dev/null 2>&1 || true
if ! command -v cargo-nextest >/dev/null 2>&1; then
  step "Installing cargo-nextest"
  cargo install --locked cargo-nextest
fi

step "Formatting (cargo fmt --check)"
cargo fmt --all -- --check

step "Lints (cargo clippy -D warnings)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "Tests (cargo nextest)"
cargo nextest run --workspace --locked --no-fail-fast

step "Doc tests"
cargo test --workspace --doc --locked

step "All tests passed"
