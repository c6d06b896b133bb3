"""Gõ Cửa — the cost of a real FFI crossing, from Python.

Times FieldStore.record_visit, FieldStore.work_list and FieldStore.device_id
through the Python bindings that uniffi-bindgen generates (ctypes: the
arguments are lowered into a RustBuffer in Python, the extern "C" function
is called, the result is lifted back into Python objects), on the same data
and the same visits as mobile-ffi/benches/ffi_bench.rs.

The baselines run at the same time, call for call: the script starts two
children of the ffi_bench binary (`--child direct`: sync-core's PhoneStore
called from Rust; `--child ffi`: FieldStore called from Rust), each on its
own copy of the store, and rotates every call between them and Python, so
that load from other processes falls on all three alike. Each side is its
own process with one connection, as on a phone.

Usage (from the workspace root; see docs/BENCHMARKS.md):

  GOCUA_FFI_BENCH_EXPORT=target/ffi-bench cargo bench -p mobile-ffi --bench ffi_bench
  cargo build --release -p mobile-ffi --lib
  cargo run --release -p mobile-ffi --bin uniffi-bindgen -- generate --no-format \\
      --library target/release/libgocua_mobile.so --language python \\
      --out-dir target/ffi-bench/python
  ln -sf "$PWD/target/release/libgocua_mobile.so" target/ffi-bench/python/
  PYTHONPATH=target/ffi-bench/python python3 mobile-ffi/bindings-tests/bench_ffi.py target/ffi-bench

DIR holds seed.db (the pristine encrypted store) and plan.json (key, visit
plan, the bench binary's path), both written by ffi_bench. The store is
copied for each side, so DIR can be reused. Prints a table; never fails on
a slow figure.
"""

import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import gocua_mobile as g
from gocua_mobile import (
    AbsentReason,
    FieldStore,
    IneligibleReason,
    Outcome,
    OutcomeInput,
    SupportKind,
    VisitInput,
)

clock = time.perf_counter_ns


def outcome(d):
    kind = d["kind"]
    if kind == "ACTIVATED":
        return Outcome.ACTIVATED(already_active=d["already_active"])
    if kind == "APPLICATION_COLLECTED":
        return Outcome.APPLICATION_COLLECTED()
    if kind == "ABSENT":
        return Outcome.ABSENT(reason=getattr(AbsentReason, d["reason"]))
    if kind == "INELIGIBLE":
        return Outcome.INELIGIBLE(reason=getattr(IneligibleReason, d["reason"]))
    if kind == "NEEDS_SUPPORT":
        return Outcome.NEEDS_SUPPORT(kind=getattr(SupportKind, d["support"]))
    if kind == "REFUSED":
        return Outcome.REFUSED()
    raise ValueError(f"unknown outcome {kind}")


def summary(us):
    """Median and p95 of values in µs (p95: the ⌈0.95 n⌉-th smallest, as in Rust)."""
    us = sorted(us)
    return statistics.median(us), us[max(1, min(len(us), math.ceil(len(us) * 0.95))) - 1]


class RustChild:
    """One side run by the ffi_bench binary (`--child direct|ffi`), one
    command a line; the child times its own call and answers in ns."""

    def __init__(self, exe, kind, store, plan):
        self.p = subprocess.Popen([exe, "--child", kind, store, plan], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)

    def ask(self, command):
        self.p.stdin.write(command + "\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        if not line:
            raise RuntimeError(f"the Rust child died on {command!r}")
        return [float(x) for x in line.split()]

    def time_us(self, command):
        return self.ask(command)[0] / 1000.0

    def quit(self):
        self.p.stdin.write("Q\n")
        self.p.stdin.flush()
        if self.p.wait() != 0:
            raise RuntimeError("a Rust child failed")


class PythonSide:
    """Python → generated bindings → FieldStore."""

    def __init__(self, store, key, hamlet, visits, split):
        self.store = FieldStore.open(store, key)
        self.hamlet = hamlet
        self.visits = visits
        # With split, record_visit is timed in its three parts instead.
        self.split = split_record_visit(self.store) if split else None
        self.parts = []

    def time_us(self, command):
        # The input record is built before the clock starts (as in Rust):
        # what is timed is lowering it, the call, and lifting the answer.
        if command == "L":
            t = clock()
            out = self.store.work_list(self.hamlet)
            e = clock() - t
            del out
            return e / 1000.0
        v = self.visits[int(command.split()[1])]
        if self.split:
            parts = self.split(v)
            self.parts.append(parts)
            return sum(parts)
        t = clock()
        self.store.record_visit(v)
        return (clock() - t) / 1000.0

    def quit(self):
        self.store.close_store()


def rotate(i, sides, command):
    """Runs one command on every side, the first side changing each time."""
    n = len(sides)
    out = [0.0] * n
    for j in range(n):
        k = (i + j) % n
        out[k] = sides[k].time_us(command)
    return out


def split_record_visit(store):
    """A function timing FieldStore.record_visit in three parts, as the
    generated method does it: lowering the VisitInput into a RustBuffer in
    Python, the C call (crossing and FieldStore.record_visit), lifting the
    returned id. Uses the generated module's private names; None if they
    changed."""
    try:
        conv = g._UniffiFfiConverterTypeVisitInput
        call = g._uniffi_rust_call_with_error
        err = g._UniffiFfiConverterTypeGoCuaError
        fn = g._UniffiLib.uniffi_gocua_mobile_fn_method_fieldstore_record_visit
        lift = g._UniffiFfiConverterString.lift
    except AttributeError:
        return None

    def run(v):
        t0 = clock()
        conv.check_lower(v)
        args = (store._uniffi_clone_handle(), conv.lower(v))
        t1 = clock()
        out = call(err, fn, *args)
        t2 = clock()
        lift(out)
        t3 = clock()
        return ((t1 - t0) / 1000.0, (t2 - t1) / 1000.0, (t3 - t2) / 1000.0)

    return run


def measure(where, src, plan, key, visits, with_lists):
    """Copies the seed three times into `where` and rotates the calls."""
    work = tempfile.mkdtemp(prefix="bench_ffi_py", dir=where)
    try:
        paths = []
        for name in ("direct", "ffi", "py"):
            paths.append(os.path.join(work, f"{name}.db"))
            shutil.copyfile(os.path.join(src, "seed.db"), paths[-1])
        plan_file = os.path.join(src, "plan.json")
        sides = [
            RustChild(plan["child_exe"], "direct", paths[0], plan_file),
            RustChild(plan["child_exe"], "ffi", paths[1], plan_file),
            PythonSide(paths[2], key, plan["hamlet"], visits, split=not with_lists),
        ]
        res = {}
        if with_lists:
            trivial = [sides[k].ask("T 20000")[0] / 1000.0 for k in (0, 1)]
            ns = []
            for _ in range(20_000):
                t = clock()
                sides[2].store.device_id()
                ns.append(clock() - t)
            trivial.append(summary([x / 1000.0 for x in ns])[0])
            res["device_id"] = trivial
            rows = len(sides[2].store.work_list(plan["hamlet"]))
            for s in sides[:2]:
                s.ask("L")  # warm-up
            lists = [rotate(i, sides, "L") for i in range(plan["list_runs"])]
            res["work_list"] = (lists, rows)
            res["split"] = split_work_list(sides[2].store, plan["hamlet"], 100)
        res["record_visit"] = [rotate(i, sides, f"V {i}") for i in range(len(visits))]
        res["record_visit_parts"] = sides[2].parts
        for s in sides:
            s.quit()
        return res
    finally:
        shutil.rmtree(work, ignore_errors=True)


def split_work_list(store, hamlet, runs):
    """Times FieldStore.work_list in two parts, as the generated method does
    it: the C call, then lifting the RustBuffer into Python objects. Uses
    the generated module's private names; returns None if they changed."""
    try:
        lower = g._UniffiFfiConverterOptionalString.lower
        call = g._uniffi_rust_call_with_error
        err = g._UniffiFfiConverterTypeGoCuaError
        fn = g._UniffiLib.uniffi_gocua_mobile_fn_method_fieldstore_work_list
        lift = g._UniffiFfiConverterSequenceTypeResidentItem.lift
    except AttributeError:
        return None
    calls, lifts = [], []
    for _ in range(runs):
        args = (store._uniffi_clone_handle(), lower(hamlet))
        t0 = clock()
        buf = call(err, fn, *args)
        t1 = clock()
        items = lift(buf)
        t2 = clock()
        calls.append((t1 - t0) / 1000.0)
        lifts.append((t2 - t1) / 1000.0)
        del items
    return summary(calls)[0], summary(lifts)[0]


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        sys.exit(2)
    src = sys.argv[1]
    with open(os.path.join(src, "plan.json"), encoding="utf-8") as f:
        plan = json.load(f)
    key = bytes.fromhex(plan["key_hex"])
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    print(f"mobile-ffi Python crossing: {plan['households']} households, "
          f"{len(plan['visits'])} visits, {plan['list_runs']} work lists")
    print(f"  Python {sys.version.split()[0]}, load average at start: {load}")

    visits = [
        VisitInput(
            household_id=v["household_id"],
            at_ms=v["at_ms"],
            user_id=plan["user_id"],
            role=plan["role"],
            at_guidance_point=False,
            outcomes=[
                OutcomeInput(resident_id=o["resident_id"], outcome=outcome(o["outcome"]),
                             explanation=o["explanation"])
                for o in v["outcomes"]
            ],
        )
        for v in plan["visits"]
    ]

    t = time.monotonic()
    # On the target directory's disk, beside DIR (not a tmpfs): fsync is real.
    disk = measure(os.path.dirname(os.path.abspath(src)), src, plan, key, visits, True)
    print(f"  on disk: {time.monotonic() - t:.1f} s")
    tmpfs = None
    if os.path.isdir("/dev/shm"):
        t = time.monotonic()
        tmpfs = measure("/dev/shm", src, plan, key, visits, False)
        print(f"  on tmpfs: {time.monotonic() - t:.1f} s")

    print()
    print("| call | PhoneStore (Rust) median / p95 | FieldStore (Rust) median / p95 | "
          "Python → FFI median / p95 | FieldStore vs direct | Python vs direct | "
          "Python vs FieldStore |")
    print("|---|---|---|---|---|---|---|")

    def row(label, runs):
        cols = [summary([r[k] for r in runs]) for k in range(3)]

        def over(a, b):
            d = cols[b][0] - cols[a][0]
            return f"{d / cols[a][0] * 100:+.1f} % ({d:+.1f} µs)"

        cells = " | ".join(f"{m:.1f} µs / {p:.1f} µs" for m, p in cols)
        print(f"| {label} | {cells} | {over(0, 1)} | {over(0, 2)} | {over(1, 2)} |")

    n = len(visits)
    row(f"record_visit, durable (fsync), {n} visits", disk["record_visit"])
    if tmpfs:
        row(f"record_visit, on tmpfs (fsync free), {n} visits", tmpfs["record_visit"])
    lists, rows = disk["work_list"]
    row(f"work_list(hamlet), {rows} rows, {len(lists)} calls", lists)
    d, f, p = disk["device_id"]
    print(f"| device_id() (a call doing nothing), 20,000 calls | {d * 1000:.0f} ns | "
          f"{f * 1000:.0f} ns | {p * 1000:.0f} ns | {(f - d) * 1000:+.0f} ns | "
          f"{(p - d) * 1000:+.0f} ns | {(p - f) * 1000:+.0f} ns |")
    print()
    if tmpfs and tmpfs["record_visit_parts"]:
        parts = tmpfs["record_visit_parts"]
        low, call, lift = (summary([p[k] for p in parts])[0] for k in range(3))
        print(f"  record_visit from Python on tmpfs, split (medians): lowering the VisitInput in "
              f"Python {low:.1f} µs; the C call (crossing and FieldStore.record_visit) "
              f"{call:.1f} µs; lifting the returned id {lift:.1f} µs")
    if disk["split"]:
        call, lift = disk["split"]
        print(f"  work_list from Python, split (100 calls, medians): the C call (crossing, "
              f"FieldStore, lowering {rows} records into a RustBuffer) {call:.1f} µs; "
              f"lifting them into Python objects {lift:.1f} µs ({lift / max(rows, 1):.2f} µs a row)")
    else:
        print("  (the generated module's internals changed: work_list not split)")


if __name__ == "__main__":
    main()
