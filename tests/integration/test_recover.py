# SPDX-License-Identifier: GPL-2.0-or-later
"""haven recover, the technician's manual path (issue 8, items 2 and 3): it
never deletes what a signed checkpoint vouches for, changes nothing when it
cannot check, never re-seals a sealed session, and is deterministic."""
import hashlib
import os
import re
import shutil
import time

from vaulttest import HAVEN, MKSESSION, Runner, Workspace, run

ws = Workspace()
R = Runner("recover")
KEY = ws.path("dev.key")

ws.session("full", "--bytes", "1000000", "--commit-every", "100000")       # COMPLETE, sequence 1
ws.session("crashed", "--bytes", "1000000", "--commit-every", "100000", "--no-seal")


def snapshot(sess):
    out = {}
    for n in ("header.hvh", "records.hvr", "index.hvi", "seal.hvs"):
        p = os.path.join(sess, n)
        out[n] = hashlib.sha256(open(p, "rb").read()).hexdigest() if os.path.isfile(p) else os.path.lexists(p)
    return out


def recover(*args):
    return run(HAVEN, "recover", "--device-key", KEY, *args)


def crashed_copy_recovers(name):
    """positive control: the same invocation seals a genuinely crashed copy"""
    c = ws.copy("crashed", name)
    p = recover("--open-seq", "1", c)
    assert p.returncode == 0 and "RECOVERED" in p.stdout, p.stdout + p.stderr
    v = run(HAVEN, "verify", c)
    assert v.stdout.startswith("INTERRUPTED"), v.stdout


def no_seal_no_index():
    crashed_copy_recovers("control-1")
    c = ws.copy("full", "no-index")
    os.unlink(os.path.join(c, "seal.hvs"))
    os.unlink(os.path.join(c, "index.hvi"))
    before = snapshot(c)
    assert os.path.getsize(os.path.join(c, "records.hvr")) > 1000000
    p = recover("--open-seq", "1", c)
    assert p.returncode == 1 and "NOT SEALED" in p.stdout and "nothing was changed" in p.stdout, p.stdout
    assert snapshot(c) == before, "recover changed a session it could not check"


R.case("rm seal.hvs index.hvi: recover changes nothing and says so", no_seal_no_index)


def dangling_seal():
    crashed_copy_recovers("control-2")
    c = ws.copy("full", "dangling")
    os.unlink(os.path.join(c, "seal.hvs"))
    os.symlink("/nonexistent/seal.hvs", os.path.join(c, "seal.hvs"))
    before = snapshot(c)
    p = recover("--open-seq", "1", c)
    assert p.returncode == 1 and "seal.hvs exists but is not a valid seal" in p.stdout, p.stdout
    assert snapshot(c) == before, "recover changed a session with a dangling seal"


R.case("seal.hvs a dangling symlink: recover changes nothing", dangling_seal)


def deterministic():
    a = ws.copy("crashed", "det-a")
    b = ws.copy("crashed", "det-b")
    with open(os.path.join(a, "records.hvr"), "ab") as f:
        f.write(b"\0" * 1234)                          # a torn tail
    with open(os.path.join(b, "records.hvr"), "ab") as f:
        f.write(b"\0" * 1234)
    pa = recover("--open-seq", "1", a)
    time.sleep(1.1)                                     # the wall clock moves between the runs
    pb = recover("--open-seq", "1", b)
    fa = re.search(r"fingerprint (\S+)", pa.stdout)
    fb = re.search(r"fingerprint (\S+)", pb.stdout)
    assert fa and fb and fa.group(1) == fb.group(1), pa.stdout + pb.stdout
    assert open(os.path.join(a, "seal.hvs"), "rb").read() == open(os.path.join(b, "seal.hvs"), "rb").read()


R.case("two recover runs on identical copies give identical seals and fingerprints", deterministic)


def refuses_without_state():
    c = ws.copy("crashed", "no-state")
    before = snapshot(c)
    p = recover(c)
    assert p.returncode == 2 and "--state-dir" in p.stderr and "--open-seq" in p.stderr, p.stderr
    assert snapshot(c) == before


R.case("without --state-dir or --open-seq nothing is sealed", refuses_without_state)


def never_reseals():
    """a sealed sequence 1 with its seal removed, followed by sequence 2: the
    device went on, so 1 was sealed; recover refuses whatever is asserted"""
    root = ws.path("root")
    os.makedirs(root)
    s1 = os.path.join(root, "S000001")
    s2 = os.path.join(root, "S000002")
    run(MKSESSION, "--device-key", KEY, "--recipient", ws.path("cust.pub"), "--out", s1, check=0)
    run(MKSESSION, "--device-key", KEY, "--recipient", ws.path("cust.pub"), "--out", s2, "--seq", "2",
        "--prev", s1, check=0)
    os.unlink(os.path.join(s1, "seal.hvs"))
    with open(os.path.join(s1, "index.hvi"), "r+b") as f:
        f.truncate(136)
    before = snapshot(s1)
    p = recover("--open-seq", "1", root)
    assert p.returncode == 2 and "went on to sequence 2" in p.stderr, p.stdout + p.stderr
    assert snapshot(s1) == before
    # and naming the sealed sequence 2 as open seals nothing either
    p = recover("--open-seq", "2", root)
    assert p.returncode == 1 and "S000001: NOT SEALED" not in p.stdout and "NOT SEALED" in p.stdout, p.stdout
    assert snapshot(s1) == before


R.case("recover never re-seals a sequence the device went on from", never_reseals)


# ---- issue 8, recovery defects found by a first-time technician ----

OTHER = ws.path("other.key")


def mk(root, seq, key=KEY, seal=True, prev=None):
    d = os.path.join(root, "S%06d-20261128T151400Z" % seq)
    args = ["--device-key", key, "--recipient", ws.path("cust.pub"), "--out", d, "--seq", str(seq)]
    if prev:
        args += ["--prev", prev]
    if not seal:
        args += ["--no-seal"]
    run(MKSESSION, *args, check=0)
    return d


def state_file(state):
    p = os.path.join(state, "device-state")
    return open(p).read() if os.path.exists(p) else None


def make_root(name, n, key=KEY):
    root = ws.path(name)
    os.makedirs(root)
    prev = None
    for seq in range(1, n + 1):
        prev = mk(root, seq, key=key, prev=prev)
    return root


def adopt(key, state, *paths):
    return run(HAVEN, "recover", "--device-key", key, "--state-dir", state, "--adopt-ledger", *paths)


def wrong_key_never_replaces_state():
    """item 2: a wrong --device-key with --adopt-ledger replaced the real
    device's valid state with a fresh one for the wrong key"""
    root = make_root("real-root", 3)
    mk(ws.path("other-root"), 1, key=OTHER)          # creates other.key
    state = ws.path("real-state")
    os.makedirs(state)
    p = adopt(KEY, state, root)
    assert p.returncode == 0 and "next sequence 4" in p.stdout, p.stdout + p.stderr
    real = state_file(state)
    # recovering with the wrong key: the message says so, and no adopt advice
    p = run(HAVEN, "recover", "--device-key", OTHER, "--state-dir", state, root)
    assert p.returncode == 2 and "wrong --device-key?" in p.stderr, p.stderr
    assert "--adopt-ledger" not in p.stderr, p.stderr
    # adopting with it is refused: the state stays the real device's
    p = adopt(OTHER, state, root)
    assert p.returncode == 2 and "wrong --device-key?" in p.stderr and "refusing to replace" in p.stderr, p.stderr
    assert state_file(state) == real, "a wrong --device-key replaced the device state"
    # no state at all, PATH holds only the real device's sessions: refused, exit 1
    os.unlink(os.path.join(state, "device-state"))
    p = adopt(OTHER, state, root)
    assert p.returncode == 1 and "wrong --device-key?" in p.stderr, p.stdout + p.stderr
    assert state_file(state) is None
    # an empty archive is adopted, and said plainly
    empty = ws.path("empty-root")
    os.makedirs(empty)
    p = adopt(OTHER, state, empty)
    assert p.returncode == 0 and "EMPTY archive" in p.stdout and "next sequence 1" in p.stdout, p.stdout
    assert "Start havend" in p.stdout, p.stdout


R.case("a wrong --device-key never replaces a device state, and says so", wrong_key_never_replaces_state)


def stale_state_adopted():
    """item 3: a state restored from an old backup (next 2 while storage holds
    a signed sequence 3) is refused by recover and replaced by adopt"""
    root = make_root("stale-root", 3)
    state = ws.path("stale-state")
    os.makedirs(state)
    sub = ws.path("stale-sub")
    os.makedirs(sub)
    shutil.copytree(os.path.join(root, sorted(os.listdir(root))[0]), os.path.join(sub, "S000001-x"))
    assert adopt(KEY, state, sub).returncode == 0          # the "backup": next 2
    assert "next 2\n" in state_file(state)
    p = run(HAVEN, "recover", "--device-key", KEY, "--state-dir", state, root)
    assert p.returncode == 2 and "behind" in p.stderr and "--adopt-ledger" in p.stderr, p.stderr
    p = adopt(KEY, state, root)
    assert p.returncode == 0 and "REPLACED" in p.stdout and "next sequence 4" in p.stdout, p.stdout + p.stderr
    assert "next 4\n" in state_file(state) and "sealed 3 " in state_file(state)
    p = adopt(KEY, state, root)
    assert p.returncode == 2 and "refusing to replace" in p.stderr, p.stderr


R.case("a state behind signed storage: recover refuses, --adopt-ledger replaces it", stale_state_adopted)


def open_seq_messages():
    """item 4: every --open-seq message is true"""
    root = make_root("msg-root", 3)
    p = recover("--open-seq", "2", root)                 # 2 is properly sealed
    assert "seal was removed" not in p.stdout + p.stderr, p.stdout + p.stderr
    assert p.returncode == 0 and "already sealed" in p.stdout and "NOT SEALED" not in p.stdout, p.stdout + p.stderr
    p = recover("--open-seq", "5", root)                 # no such session, no state
    assert p.returncode == 1 and "no session with sequence 5" in p.stdout, p.stdout + p.stderr
    assert "device state" not in p.stdout + p.stderr and "reserved" not in p.stdout + p.stderr, p.stdout
    p = recover("--open-seq", "0", root)
    assert p.returncode == 2 and "at least 1" in p.stderr and "exactly one" not in p.stderr, p.stderr
    p = run(HAVEN, "recover", "--device-key", OTHER, "--open-seq", "1", root)
    assert p.returncode == 1 and "wrong --device-key?" in p.stdout, p.stdout + p.stderr
    assert "already sealed" not in p.stdout and p.stdout.count("another device") == 3, p.stdout
    # a mixed folder: another device's sealed session is labelled as such
    mixed = ws.path("mixed-root")
    os.makedirs(mixed)
    mine = mk(mixed, 1, seal=False)
    theirs = mk(mixed, 7, key=OTHER)
    p = recover("--open-seq", "1", mixed)
    assert p.returncode == 0 and "RECOVERED" in p.stdout, p.stdout + p.stderr
    line = [ln for ln in p.stdout.splitlines() if theirs in ln]
    assert line and "another device" in line[0] and "already sealed" not in line[0], p.stdout
    p = run(HAVEN, "recover", "--help")
    for text in ("Exit status", "storage root", "SECRET key", "havend"):
        assert text in p.stdout, text


R.case("--open-seq messages say what is true; --help documents exit statuses and PATH", open_seq_messages)

ws.cleanup()
R.finish()
