# SPDX-License-Identifier: GPL-2.0-or-later
"""Memory bound of the readers (issue 8 item 9): `haven verify`, `haven info`
and `haven export` stream records and events, so their peak RSS stays under
32 MB whatever a session holds. The case from the issue: an unsealed session
of 100,000 events of 4 KiB of invalid UTF-8 (1.6 GB before the fix).

Peak RSS comes from GNU time. Under AddressSanitizer the quarantine
deliberately keeps up to 256 MB of freed memory; it is the sanitizer's, not
Haven's, so it is switched off for these measurements (the shadow memory and
everything else ASan adds are still counted). What is asserted is what reading
the session adds to the peak RSS of haven doing nothing (`haven --version`, the
same binary and environment): that start-up footprint is ASan's shadow and the
linked libraries (29 MiB under ASan here, a few MiB in a release build, where
tools/bench-verify-memory.py measures the absolute figures)."""
import os

from vaulttest import HAVEN, MKSESSION, Runner, Workspace, run

GROWTH_KIB = 8 * 1024    # what a session may add to the start-up footprint here
ws = Workspace()
R = Runner("verify-memory")
env = dict(os.environ)
env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=0"


def make(name, events, *extra):
    run(MKSESSION, "--device-key", ws.path("dev.key"), "--recipient", ws.path("cust.pub"),
        "--out", ws.path(name), "--no-sync", "--bytes", "100000", "--commit-every", "1000000",
        "--events", str(events), "--event-bytes", "4096", "--event-fill", "invalid", *extra, check=0)
    return ws.path(name)


def measure(*args, expect):
    import subprocess
    with open(os.devnull, "wb") as null:
        p = subprocess.run(["/usr/bin/time", "-f", "%M"] + [str(a) for a in args], stdout=null,
                           stderr=subprocess.PIPE, env=env)
    err = p.stderr.decode("utf-8", "replace")
    assert p.returncode == expect, f"{args[:2]} exited {p.returncode}, expected {expect}: {err[-2000:]}"
    kib = int(err.strip().splitlines()[-1])
    print(f"     peak RSS {kib / 1024:.1f} MiB: haven {' '.join(str(a) for a in args[1:2])}")
    return kib


_base = []


def base_kib():
    """Peak RSS of `haven --version`: the start-up footprint of this build."""
    if not _base:
        _base.append(measure(HAVEN, "--version", expect=0))
    return _base[0]


def check(kib, what):
    grown = kib - base_kib()
    assert grown <= GROWTH_KIB, f"{what} peak RSS {kib} KiB, {grown} KiB above start-up > {GROWTH_KIB} KiB"


def verify_unsealed():
    s = make("big", 100000, "--no-seal")
    check(measure(HAVEN, "verify", s, expect=1), "haven verify")
    check(measure(HAVEN, "verify", "--json", s, expect=1), "haven verify --json")


R.case("verify: 100,000 events of 4 KiB invalid UTF-8: peak RSS at most 8 MiB above start-up", verify_unsealed)


def info_sealed():
    s = make("info", 20000)
    check(measure(HAVEN, "info", s, expect=0), "haven info")


R.case("info: 20,000 events of 4 KiB printed: peak RSS at most 8 MiB above start-up", info_sealed)


def export_sealed():
    """Export also tries the MP4 remux (libavformat), whose own footprint does
    not depend on the session: the bound is on what the events add, against
    the same export of a session without them."""
    base = make("exp0", 0)
    kib0 = measure(HAVEN, "export", "--identity", ws.path("cust.key"), "--out", ws.path("out0"), base,
                   expect=4)  # synthetic media: no MP4, exit 4
    s = make("exp", 5000)
    kib = measure(HAVEN, "export", "--identity", ws.path("cust.key"), "--out", ws.path("out"), s,
                  expect=4)  # synthetic media: no MP4, exit 4
    assert kib - kib0 <= 4096, f"5,000 events added {kib - kib0} KiB to haven export's peak RSS"
    size = os.path.getsize(ws.path("out", "custody-report.txt"))
    assert size > 5000 * 4096 * 4, f"report of {size} bytes lacks the events"


R.case("export: 5,000 events of 4 KiB in the report add < 4 MB to peak RSS", export_sealed)

ws.cleanup()
R.finish()
