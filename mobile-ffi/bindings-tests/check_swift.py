"""Checks the generated Swift bindings as far as a machine without a Swift
toolchain can: the files and module map are there, the C header compiles,
every FFI function the Swift calls is declared in the header and exported
by the built library, and the Swift API names every exported object,
method, record, enum and error variant with the expected signature.

Usage: python3 check_swift.py SWIFT_DIR LIBRARY
Prints a PASS/FAIL line per check; exits 1 if any failed.
"""

import os
import re
import shutil
import subprocess
import sys

TAG = "swift"
failed = 0
passed = 0


def report(ok, what, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"PASS [{TAG}] {what}", flush=True)
    else:
        failed += 1
        print(f"FAIL [{TAG}] {what}{' — ' + detail if detail else ''}", flush=True)


# The exported API as Swift must spell it (whitespace and backticks ignored).
# FieldStore.close may be renamed close_store (closeStore) so that the
# Kotlin bindings compile; either spelling is accepted.
API = [
    "open class FieldStore",
    "public static func open(path: String, key: Data) throws -> FieldStore",
    ("func close()", "func closeStore()"),
    "func deviceId() throws -> String",
    "func pendingChanges() throws -> UInt64",
    "func workList(hamlet: String?) throws -> [ResidentItem]",
    "func targets(nowMs: Int64) throws -> FfiTargets",
    "func residentsByState(state: String, hamlet: String?) throws -> [ResidentItem]",
    "func search(query: String, limit: UInt32) throws -> [ResidentItem]",
    "func household(householdId: String) throws -> HouseholdDetail",
    "func recordVisit(visit: VisitInput) throws -> String",
    "func wipe() throws",
    "func sync(client: ServerClient, listener: SyncListener?, cancel: CancelToken?) throws -> SyncReport",
    "open class ServerClient",
    "public convenience init(baseUrl: String) throws",
    "func login(username: String, password: String, deviceId: String) throws -> UserInfo",
    "func refresh() throws",
    "func tokens() throws -> TokenPair?",
    "func setTokens(tokens: TokenPair) throws",
    "func logout() throws",
    "open class CancelToken",
    "public convenience init()",
    "func cancel()",
    "func isCancelled() -> Bool",
    "public protocol SyncListener",
    "func onProgress(roundTrip: UInt32, docsReceived: UInt32, changesReceived: UInt32, pending: UInt64)",
    "public struct ResidentItem",
    "public var householdId: String",
    "public var lastVisitAtMs: Int64?",
    "public struct FfiTargets",
    "public var quota: UInt32",
    "public var campaign: CampaignInfo?",
    "public var rows: [TargetItem]",
    "public struct TargetItem",
    "public var resident: ResidentItem",
    "public var priorityLabelVi: String",
    "public var comeBack: String?",
    "public struct CampaignInfo",
    "public var endDate: String",
    "public struct HouseholdDetail",
    "public var residents: [ResidentDetail]",
    "public struct ResidentDetail",
    "public var personalIdMasked: String?",
    "public struct ConflictItem",
    "public struct ConflictRecord",
    "public struct FieldConflictItem",
    "public struct VisitInput",
    "public var outcomes: [OutcomeInput]",
    "public struct OutcomeInput",
    "public var explanation: String?",
    "public struct SyncReport",
    "public struct UserInfo",
    "public struct TokenPair",
    "public enum Outcome",
    "case activated(alreadyActive: Bool)",
    "case absent(reason: AbsentReason)",
    "case ineligible(reason: IneligibleReason)",
    "case needsSupport(kind: SupportKind)",
    "public enum AbsentReason",
    "case notHomeNow",
    "public enum IneligibleReason",
    "case other",
    "public enum SupportKind",
    "public enum GoCuaError: Swift.Error",
] + [
    f"case {v}(code: String, messageVi: String)"
    for v in ("Closed", "WrongKey", "InvalidInput", "Storage", "Network", "Unauthorized",
              "DeviceRevoked", "Server", "Cancelled")
]


def squeeze(s):
    """Drops comments, whitespace and backticks, so formatting does not matter."""
    s = re.sub(r"/\*.*?\*/", "", s, flags=re.S)
    s = re.sub(r"//[^\n]*", "", s)
    return re.sub(r"[\s`]+", "", s)


def main(swift_dir, lib):
    swift = os.path.join(swift_dir, "gocua_mobile.swift")
    header = os.path.join(swift_dir, "gocua_mobileFFI.h")
    modulemap = os.path.join(swift_dir, "gocua_mobileFFI.modulemap")
    present = all(os.path.getsize(f) > 0 for f in (swift, header, modulemap) if os.path.exists(f))
    present = present and all(os.path.exists(f) for f in (swift, header, modulemap))
    report(present, "gocua_mobile.swift, gocua_mobileFFI.h and gocua_mobileFFI.modulemap generated")
    if not present:
        return
    src = open(swift, encoding="utf-8").read()
    hdr = open(header, encoding="utf-8").read()
    mm = open(modulemap, encoding="utf-8").read()

    report(re.search(r'module\s+gocua_mobileFFI\s*\{[^}]*header\s+"gocua_mobileFFI\.h"', mm) is not None,
           "the module map declares module gocua_mobileFFI with its header")
    report("import gocua_mobileFFI" in src.replace("\n", " ") or "canImport(gocua_mobileFFI)" in src,
           "the Swift imports the gocua_mobileFFI module")

    # Clang knows the nullability qualifiers (_Nonnull) the header uses, as
    # Swift's importer does; GCC is told they mean nothing.
    cc = shutil.which("clang") or shutil.which("cc") or shutil.which("gcc")
    if cc:
        flags = [] if "clang" in os.path.basename(cc) else ["-D_Nonnull=", "-D_Nullable="]
        r = subprocess.run([cc, "-fsyntax-only", "-Wall", "-Werror", *flags, "-I", swift_dir, "-x", "c", "-"],
                           input='#include "gocua_mobileFFI.h"\n', capture_output=True, text=True)
        report(r.returncode == 0, f"the C header compiles ({os.path.basename(cc)} -fsyntax-only -Wall -Werror)",
               r.stderr.strip()[:2000])
    else:
        print(f"  [{TAG}] no C compiler: header not compiled")

    sym = re.compile(r"\b(?:uniffi|ffi)_gocua_mobile_\w+")
    calls = set(sym.findall(src))
    decls = set(re.findall(r"\b((?:uniffi|ffi)_gocua_mobile_\w+)\s*\(", hdr))
    missing = sorted(calls - decls)
    report(bool(calls) and not missing,
           f"every FFI function the Swift calls ({len(calls)}) is declared in the header",
           ", ".join(missing[:10]))

    nm = shutil.which("nm")
    if nm:
        r = subprocess.run([nm, "-D", "--defined-only", lib], capture_output=True, text=True)
        exported = {line.split()[-1] for line in r.stdout.splitlines() if line.strip()}
        missing = sorted(d for d in decls if d not in exported)
        report(r.returncode == 0 and not missing,
               f"every function in the header ({len(decls)}) is exported by {os.path.basename(lib)}",
               ", ".join(missing[:10]) or r.stderr.strip()[:500])
    else:
        print(f"  [{TAG}] no nm: library symbols not compared")

    flat = squeeze(src)
    absent = []
    for item in API:
        options = item if isinstance(item, tuple) else (item,)
        if not any(squeeze(o) in flat for o in options):
            absent.append(" | ".join(options))
    for a in absent:
        print(f"  [{TAG}] not found in gocua_mobile.swift: {a}")
    report(not absent, f"the Swift API names every exported object, method, record, enum and error "
                       f"({len(API)} signatures)")

    swiftc = shutil.which("swiftc")
    if swiftc:
        r = subprocess.run([swiftc, "-typecheck", "-module-name", "gocua_mobile", "-I", swift_dir,
                            "-Xcc", f"-fmodule-map-file={modulemap}", swift],
                           capture_output=True, text=True)
        report(r.returncode == 0, "swiftc typechecks the Swift bindings", r.stderr.strip()[:3000])
    else:
        print(f"  [{TAG}] no Swift toolchain (swiftc) on this machine: the Swift bindings are generated "
              "and checked statically above, but cannot be compiled or run here", flush=True)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print("usage: check_swift.py SWIFT_DIR LIBRARY", file=sys.stderr)
        sys.exit(2)
    main(sys.argv[1], sys.argv[2])
    print(f"[{TAG}] {passed} passed, {failed} failed", flush=True)
    sys.exit(0 if failed == 0 else 1)
