# SPDX-License-Identifier: GPL-2.0-or-later
"""What a custodian reads: the device ledger's blind spots (issue 8 item 5),
pinning the device and the fingerprint on export (item 6), and text from the
files that must not forge lines or drive the terminal (item 7)."""
import json
import os
import shutil

from vaulttest import HAVEN, Runner, Workspace, run

ws = Workspace()
R = Runner("custodian")

EVIL = "evil\nFingerprint: AAAA-AAAA-AAAA-AAAA-AAAA\x1b[2J\r\x07\u2028end"


def chain(folder, seqs, key):
    os.makedirs(ws.path(folder))
    prev = None
    out = {}
    for i in range(1, max(seqs) + 1):
        extra = ["--seq", str(i), "--bytes", "20000"] + (["--prev", prev] if prev else [])
        prev = ws.session(f"{folder}-all/s{i}", *extra, key=key)
        if i in seqs:
            out[i] = ws.copy(f"{folder}-all/s{i}", f"{folder}/s{i}")
    return out


def history_start():
    chain("nostart", {2, 3}, "l1.key")
    p = run(HAVEN, "verify", ws.path("nostart"), check=0)
    assert "verifiable history starts at sequence 2" in p.stdout, p.stdout
    assert "--from-sequence" in p.stdout, p.stdout
    p = run(HAVEN, "verify", "--from-sequence", "1", ws.path("nostart"), check=1)
    assert "missing sequence 1" in p.stdout and "ledger BROKEN" in p.stdout, p.stdout
    p = run(HAVEN, "verify", "--json", "--from-sequence", "1", ws.path("nostart"), check=1)
    d = json.loads(p.stdout)["devices"][0]
    assert d["missing_sequences"] == [{"from": 1, "to": 1}], d
    assert d["expected_first_sequence"] == 1 and d["first_sequence"] == 2, d
    run(HAVEN, "verify", "--from-sequence", "2", ws.path("nostart"), check=0)


R.case("archive without sequence 1: says where history starts; --from-sequence 1 exits 1", history_start)


def subset_copy():
    chain("subset", {1, 3, 4, 8}, "l2.key")
    p = run(HAVEN, "verify", ws.path("subset"), check=1)
    summary = [l for l in p.stdout.splitlines() if l.startswith("summary:")][0]
    assert "0 INVALID" in summary and "ledger BROKEN" in summary, summary
    assert "missing sequences 2, 5-7" in p.stdout, p.stdout
    p = run(HAVEN, "verify", "--json", ws.path("subset"), check=1)
    doc = json.loads(p.stdout)
    assert doc["sessions_intact"] is True and doc["ledger_intact"] is False and doc["intact"] is False
    d = doc["devices"][0]
    assert d["missing_sequences"] == [{"from": 2, "to": 2}, {"from": 5, "to": 7}], d
    assert all(s["verdict"] == "COMPLETE" for s in doc["sessions"]), doc
    h = run(HAVEN, "verify", "--help", check=0).stdout
    assert "ledger broken" in h and "COMPLETE" in h, h


R.case("subset copy: missing sequences named apart from the verdicts, exit 1", subset_copy)


def first_claims_previous():
    """FORMAT.md §2/§8.5: the session stays COMPLETE, the ledger is broken, exit 1."""
    prev = ws.session("p0", "--bytes", "1000", key="l3.key")
    s = ws.session("p1", "--seq", "1", "--prev", prev, "--bytes", "1000", key="l3.key")
    p = run(HAVEN, "verify", "--json", s, check=1)
    doc = json.loads(p.stdout)
    assert doc["sessions"][0]["verdict"] == "COMPLETE" and doc["ledger_intact"] is False, doc
    assert doc["devices"][0]["missing_sequences"] == [], doc
    p = run(HAVEN, "verify", s, check=1)
    assert p.stdout.startswith("COMPLETE") and "sequence 1 claims a previous session" in p.stdout


R.case("sequence 1 with a previous seal hash: COMPLETE session, broken ledger, exit 1",
       first_claims_previous)


def export(session, out, *extra, check):
    p = run(HAVEN, "export", "--identity", ws.path("cust.key"), "--out", ws.path(out), *extra, session,
            check=check)
    if check not in (0, 4):   # 4: synthetic media, no MP4; the original and the report are there
        assert not os.path.exists(ws.path(out)), "export left files behind"
        assert not [n for n in os.listdir(ws.dir) if n.startswith(out + ".partial")]
    return p


def report(out):
    with open(ws.path(out, "custody-report.txt"), "rb") as f:
        return f.read().decode("utf-8")


def export_pins_device():
    mine = ws.session("mine", "--bytes", "20000", key="dev.key")
    foreign = ws.session("foreign", "--bytes", "20000", key="devX.key")
    p = export(foreign, "x1", "--device-key", ws.path("dev.key.pub"), check=1)
    assert "not the expected device key" in p.stderr, p.stderr
    p = export(mine, "x2", "--device-key", ws.path("dev.key.pub"), check=4)
    assert "NOT PINNED" not in p.stdout and "pinned" in p.stdout, p.stdout
    assert "NOT PINNED" not in report("x2") and "pinned: matches" in report("x2")
    p = export(foreign, "x3", check=4)
    assert "NOT PINNED" in p.stdout, p.stdout
    assert "NOT PINNED" in report("x3")
    v = run(HAVEN, "verify", foreign, check=0)
    assert "NOT PINNED" in v.stdout, v.stdout
    v = run(HAVEN, "verify", "--device-key", ws.path("dev.key.pub"), mine, check=0)
    assert "NOT PINNED" not in v.stdout, v.stdout


R.case("export --device-key refuses another device; unpinned output says so", export_pins_device)


def export_expect():
    s = ws.session("exp", "--bytes", "20000", key="dev.key")
    fp = run(HAVEN, "verify", "--json", s, check=0)
    fp = json.loads(fp.stdout)["sessions"][0]["fingerprint"]
    wrong = ("A" if fp[0] != "A" else "B") + fp[1:]
    p = export(s, "e1", "--expect", wrong, check=1)
    assert "not the expected" in p.stderr, p.stderr
    export(s, "e2", "--expect", "nonsense", check=2)
    p = export(s, "e3", "--expect", fp.lower(), check=4)
    assert "matches the fingerprint given with --expect" in report("e3")


R.case("export --expect refuses a different fingerprint", export_expect)


def assert_clean(text, where):
    assert "\x1b" not in text and "\r" not in text and "\x07" not in text and "\u2028" not in text, \
        f"control character in {where}: {text!r}"


def injected_text():
    s = ws.session("evil", "--bytes", "20000", "--markers", "2", "--marker-text", EVIL,
                   "--room", "Room\x1b[2J\nFingerprint: BBBB", "--events", "3", "--event-bytes", "50",
                   "--event-fill", "control", key="dev.key")
    i = run(HAVEN, "info", s, check=0).stdout
    assert_clean(i, "haven info")
    assert not [l for l in i.splitlines() if l.startswith("Fingerprint")], i
    assert i.count("evil\\nFingerprint: AAAA-AAAA-AAAA-AAAA-AAAA\\u{001B}[2J") == 2, i
    export(s, "ev", check=4)
    r = report("ev")
    assert_clean(r, "custody report")
    assert len([l for l in r.splitlines() if l.startswith("Fingerprint:")]) == 1, r
    assert len([l for l in r.splitlines() if l.startswith("  ") and " marker " in l]) == 2, r
    v = run(HAVEN, "verify", "--json", s, check=0)
    doc = json.loads(v.stdout)
    assert_clean(doc["sessions"][0]["room"], "verify --json")
    t = run(HAVEN, "verify", s, check=0).stdout
    assert_clean(t, "verify")


R.case("event text, room name: escaped in info, custody report and verify", injected_text)


def invalid_utf8():
    s = ws.session("bad8", "--bytes", "20000", "--events", "2", "--event-bytes", "40",
                   "--event-fill", "invalid", key="dev.key")
    p = run(HAVEN, "info", s, check=0)
    assert "\\xFF" * 40 in p.stdout, p.stdout
    export(s, "b8", check=4)
    assert "\\xFF" * 40 in report("b8")


R.case("invalid UTF-8 event text: shown as \\xFF, session COMPLETE", invalid_utf8)


def hostile_path():
    s = ws.copy("mine", "odd\nINVALID fake\x1b[2J")
    p = run(HAVEN, "verify", s, check=0)
    assert_clean(p.stdout, "verify")
    assert p.stdout.splitlines()[0].startswith("COMPLETE"), p.stdout
    assert "odd\\nINVALID fake\\u{001B}[2J" in p.stdout, p.stdout
    export(s, "xodd", check=4)
    names = sorted(os.listdir(ws.path("xodd")))
    assert all(n.isprintable() and "/" not in n for n in names), names
    assert "odd_INVALID_fake__2J.ts" in names, names


R.case("a directory name with a line break and ESC is escaped", hostile_path)


def folder_is_not_a_session():
    """info and export take one session: a folder of sessions is a usage error
    (exit 2) that says so, not an INVALID verdict."""
    for cmd in (["info"], ["export", "--identity", ws.path("cust.key"), "--out", ws.path("xfold")]):
        p = run(HAVEN, *cmd, ws.dir, check=2)
        assert "folder of" in p.stderr and "not one session" in p.stderr, p.stderr
    assert not os.path.exists(ws.path("xfold"))


R.case("info and export given a folder of sessions: usage error naming it", folder_is_not_a_session)

ws.cleanup()
R.finish()
