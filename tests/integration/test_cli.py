# SPDX-License-Identifier: GPL-2.0-or-later
"""The CLI's habits (issue 11 §3, §4): --version and --help on every
subcommand, unknown options named by the command, exit statuses, --json
documents checked against docs/JSON.md's tables, --quiet/--status, key info,
non-session paths, export on a full disk or a failed remux, and the catalog a
custodian builds of an archive (catalog index, list, show)."""
import json
import os
import re
import resource
import shutil
import signal
from concurrent.futures import ThreadPoolExecutor

from vaulttest import HAVEN, REC_HDR, Runner, Workspace, flip, records, run

ws = Workspace()
R = Runner("cli")
DOC = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "JSON.md")

COMMANDS = [["keygen"], ["verify"], ["verify-clip"], ["info"], ["export"], ["recover"], ["status"], ["start"], ["stop"],
            ["mark"], ["sim"], ["catalog", "list"], ["catalog", "show"], ["catalog", "index"],
            ["catalog", "rebuild"], ["audit"], ["key"], ["flash"], ["provision"], ["enroll"],
            ["custody", "show"], ["custody", "verify"], ["custody", "add"], ["custody", "verify-report"]]


def run_many(argvs):
    """Run the commands at once (each haven under ASan takes a while to start)."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(lambda a: run(HAVEN, *a), argvs))


def version_and_help():
    want = run(HAVEN, "--version", check=0).stdout
    assert re.match(r"^haven \d+\.\d+", want), want
    # -V is the same option as --version (hv_cli_parse adds both): a few commands suffice
    argvs = [["-V"], ["verify", "-V"], ["catalog", "list", "-V"], ["catalog", "-V"], ["custody", "-V"],
             ["custody", "--version"]] + \
        [cmd + [flag] for cmd in COMMANDS for flag in ("--version", "--help")]
    for a, p in zip(argvs, run_many(argvs)):
        assert p.returncode == 0, (a, p.returncode, p.stderr)
        if a[-1] == "--help":
            assert "Usage:" in p.stdout and "--version" in p.stdout, (a, p.stdout)
        else:
            assert p.stdout == want, (a, p.stdout, p.stderr)
    assert "list" in run(HAVEN, "catalog", "--help", check=0).stdout
    # haven --help: every command's summary in one column (verify-clip's was not), and the
    # exit statuses name verify-clip
    top = run(HAVEN, "--help", check=0).stdout
    rows = [ln for ln in top.split("Commands:\n")[1].split("\n\n")[0].splitlines()]
    cols = {len(ln) - len(ln[2:].split(" ", 1)[1].lstrip()) for ln in rows}
    assert len(cols) == 1 and any(ln.startswith("  verify-clip ") for ln in rows), rows
    assert "re-derived (verify-clip)" in top and "verify-clip, recover" in top, top


R.case("--version, -V and --help on every subcommand", version_and_help)


def unknown_option():
    for cmd, p in zip(COMMANDS, run_many([cmd + ["-x"] for cmd in COMMANDS])):
        name = " ".join(cmd)
        assert p.returncode == 2, (cmd, p.returncode)
        assert p.stderr.startswith(f"haven {name}: unknown option -x\n"), (cmd, p.stderr)
        assert f"Try 'haven {name} --help'." in p.stderr, p.stderr
    p = run(HAVEN, "verify", "--bogus=1", check=2)
    assert p.stderr.startswith("haven verify: unknown option --bogus"), p.stderr
    p = run(HAVEN, "verify", "--from-sequence", "abc", "x", check=2)
    assert p.stderr.startswith("haven verify: "), p.stderr
    p = run(HAVEN, "nosuch", check=2)
    assert "unknown command 'nosuch'" in p.stderr, p.stderr
    p = run(HAVEN, "catalog", "nosuch", check=2)
    assert "unknown subcommand 'nosuch'" in p.stderr, p.stderr


R.case("unknown options name the command (haven verify: unknown option -x), exit 2", unknown_option)

# ---- docs/JSON.md: the tables, checked both ways ----


def schemas():
    out, cur = {}, None
    for line in open(DOC, encoding="utf-8"):
        m = re.match(r"^## (haven\.[a-z.]+/\d+)( \(open\))?", line)
        if m:
            cur = out.setdefault(m.group(1), {"open": bool(m.group(2)), "members": {}})
            continue
        m = re.match(r"^\| `([^`]+)` \| ([a-z|\\?]+) \|", line)
        if m and cur is not None:
            cur["members"][m.group(1)] = m.group(2).replace("\\", "")
    return out


TYPES = {"string": str, "integer": int, "boolean": bool, "array": list, "object": dict}


def type_ok(value, spec):
    spec = spec.rstrip("?")
    for t in spec.split("|"):
        if t == "null" and value is None:
            return True
        if t in TYPES and isinstance(value, TYPES[t]) and not (t == "integer" and isinstance(value, bool)):
            return True
    return False


def flatten(doc, prefix=""):
    """{path: [values]} with a[].b paths, as the tables name members."""
    out = {}
    for k, v in doc.items():
        path = prefix + k
        out.setdefault(path, []).append(v)
        if isinstance(v, dict):
            for p, vs in flatten(v, path + ".").items():
                out.setdefault(p, []).extend(vs)
        elif isinstance(v, list):
            for e in v:
                if isinstance(e, dict):
                    for p, vs in flatten(e, path + "[].").items():
                        out.setdefault(p, []).extend(vs)
    return out


def check_schema(text, name, extra_paths=()):
    doc = json.loads(text)
    assert doc.get("schema") == name, (name, doc.get("schema"))
    assert next(iter(doc)) == "schema", "schema is not the first member"
    table = schemas()[name]
    got = flatten(doc)
    for path, spec in table["members"].items():
        if path not in got:
            parent = path.rsplit("[].", 1)[0] if "[]." in path else None
            empty = parent is not None and all(v == [] for v in got.get(parent, [[]]))
            assert spec.endswith("?") or empty, f"{name}: {path} ({spec}) missing"
            continue
        for v in got[path]:
            assert type_ok(v, spec), f"{name}: {path} is {v!r}, documented as {spec}"
    if not table["open"]:
        allowed = set(table["members"]) | set(extra_paths)
        unlisted = [p for p in got if p not in allowed]
        assert not unlisted, f"{name}: members not in docs/JSON.md: {unlisted}"
    for path, values in got.items():   # times twice: T_us and T agree
        if path.endswith("_us") and path[:-3] in got:
            for us, text in zip(values, got[path[:-3]]):
                assert (us is None) == (text is None), (path, us, text)
                if us is not None:
                    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$", text), text
                    assert text[-7:-1] == f"{us % 1000000:06d}", (us, text)
    return doc


def make_archive():
    arch = ws.path("arch")
    os.makedirs(arch)
    prev = None
    for i in (1, 2, 3):
        extra = ["--seq", str(i), "--bytes", "3000", "--markers", str(i - 1), "--room",
                 "Blue room" if i != 2 else "Green room"] + (["--prev", prev] if prev else [])
        prev = ws.session(f"arch/s{i}", *extra)
    ws.session("arch/other/x1", "--seq", "1", "--bytes", "1000", key="dev2.key")
    return arch


ARCH = make_archive()
DB = ws.path("arch.db")


def json_documents():
    s1 = os.path.join(ARCH, "s1")
    check_schema(run(HAVEN, "verify", "--json", ARCH, check=0).stdout, "haven.verify/1")
    bad = ws.copy("arch/s2", "bad2")
    with open(os.path.join(bad, "records.hvr"), "r+b") as f:
        f.seek(60)
        b = f.read(1)
        f.seek(60)
        f.write(bytes([b[0] ^ 1]))
    d = check_schema(run(HAVEN, "verify", "--json", "--from-sequence", "1", bad, check=1).stdout,
                     "haven.verify/1")
    assert d["sessions"][0]["verdict"] == "INVALID" and d["ledger"] == "BROKEN", d
    d = check_schema(run(HAVEN, "verify", "--json", ARCH + "/s2", ARCH + "/s3", check=0).stdout,
                     "haven.verify/1")
    dev = d["devices"][0]
    assert dev["ledger"] == "intact" and dev["sequences"] == "2..3", dev
    text = run(HAVEN, "verify", ARCH + "/s2", ARCH + "/s3", check=0).stdout
    assert dev["summary"] in text and "verifiable up to sequence 3" in dev["summary"], (dev, text)
    d = check_schema(run(HAVEN, "info", "--json", os.path.join(ARCH, "s3"), check=0).stdout, "haven.info/1")
    assert d["markers"] >= 1 and [e["type"] for e in d["events"]].count("marker") == d["markers"], d
    markers3 = d["markers"]
    assert d["recipients"] == [key_id("cust.pub")], d
    check_schema(run(HAVEN, "key", "info", "--json", ws.path("cust.key"), check=0).stdout, "haven.key/1")
    run(HAVEN, "catalog", "index", "--catalog", DB, ARCH, check=0)
    d = check_schema(run(HAVEN, "catalog", "list", "--json", "--catalog", DB, check=0).stdout,
                     "haven.catalog.list/1")
    assert len(d["sessions"]) == 4, d
    d = check_schema(run(HAVEN, "catalog", "show", "--json", "--catalog", DB, "--device",
                         d["sessions"][0]["device"], "3", check=0).stdout, "haven.catalog.show/1",
                     extra_paths=["session." + m[len("sessions[]."):] for m in
                                  schemas()["haven.catalog.list/1"]["members"] if m.startswith("sessions[].")])
    assert d["session"]["sequence"] == 3 and len(d["session"]["events"]) == 2 + markers3, d
    check_schema(run(HAVEN, "catalog", "index", "--json", "--catalog", DB, ARCH, check=0).stdout,
                 "haven.catalog.index/1")
    check_schema(run(HAVEN, "audit", "--json", "--catalog", DB, check=0).stdout, "haven.audit/1")
    cs = ws.copy("arch/s1", "custody-s1")
    run(HAVEN, "custody", "add", "--action", "transfer", "--to", "Store B", "--ref", "Case 7", "--identity",
        ws.path("cust.key"), cs, check=0)
    run(HAVEN, "custody", "add", "--action", "verify", "--ref", "Case 7", "--identity", ws.path("cust.key"), cs,
        check=0)
    d = check_schema(run(HAVEN, "custody", "show", "--json", cs, check=0).stdout, "haven.custody/1")
    assert d["intact"] and d["entry_count"] == 2 and d["entries"][0]["to"] == "Store B", d
    with open(os.path.join(cs, "custody.log"), "r+b") as f:   # break the second entry's signature
        data = f.read()
        i = data.rindex(b'"ref":"') + 7
        f.seek(i)
        f.write(b"X")
    d = check_schema(run(HAVEN, "custody", "verify", "--json", cs, check=1).stdout, "haven.custody/1")
    assert not d["intact"] and d["bad_entry"] == 2 and d["problem"], d


def key_id(name):
    return json.loads(run(HAVEN, "key", "info", "--json", ws.path(name), check=0).stdout)["key_id"]


R.case("--json documents match docs/JSON.md (members, types, times twice, schema first)", json_documents)


def quiet_and_status():
    p = run(HAVEN, "verify", "--status", ARCH, check=0)
    assert p.stdout == "" and p.stderr == "", (p.stdout, p.stderr)
    p = run(HAVEN, "verify", "--quiet", ARCH, check=0)
    assert p.stdout == "", p.stdout
    bad = ws.copy("arch/s1", "bad1")
    os.remove(os.path.join(bad, "seal.hvs"))
    p = run(HAVEN, "verify", "--status", bad, check=1)
    assert p.stdout == "" and p.stderr == "", (p.stdout, p.stderr)
    p = run(HAVEN, "verify", "-q", bad, ARCH + "/s2", check=1)
    lines = p.stdout.splitlines()
    assert lines[0].startswith("INVALID") and "bad1" in lines[0], p.stdout
    assert all(l.startswith("LEDGER") for l in lines[1:]) and "COMPLETE" not in p.stdout, p.stdout
    p = run(HAVEN, "verify", "--quiet", "--from-sequence", "1", ARCH + "/s2", check=1)
    assert [l[:6] for l in p.stdout.splitlines()] == ["LEDGER"], p.stdout
    p = run(HAVEN, "verify", "--status", "--json", ARCH, check=2)
    assert "exclude each other" in p.stderr, p.stderr


R.case("verify --quiet prints only failures, --status nothing; the exit status says it", quiet_and_status)


def grammar():
    one = ws.session("one", "--bytes", "1000", "--markers", "1")
    v = run(HAVEN, "verify", one, check=0).stdout
    assert " 1 marker," in v and "1 markers" not in v, v
    i = run(HAVEN, "info", one, check=0).stdout
    assert "1 marker)" in i and "1 markers" not in i, i
    summary = [l for l in v.splitlines() if l.startswith("summary:")][0]
    assert summary.startswith("summary: 1 session:"), summary


R.case("grammar: 1 marker, 1 session", grammar)


def key_info():
    kinds = {"cust.pub": "custodian recipient", "cust.key": "custodian identity", "dev.key": "device private key",
             "dev.key.pub": "device public key"}
    ids = {}
    for f, kind in kinds.items():
        p = run(HAVEN, "key", "info", ws.path(f), check=0)
        assert f"type:   {kind}" in p.stdout, p.stdout
        ids[f] = re.search(r"key id: ([0-9a-f]{16})$", p.stdout, re.M).group(1)
    assert ids["cust.pub"] == ids["cust.key"] and ids["dev.key"] == ids["dev.key.pub"], ids
    # the signing public key keygen writes beside them: its id is keygen's "signer id"
    p = run(HAVEN, "key", "info", ws.path("cust.sign.pub"), check=0)
    assert "type:   custodian signing public key" in p.stdout and "haven custody verify --signer" in p.stdout, p.stdout
    sid = re.search(r"key id: ([0-9a-f]{16})$", p.stdout, re.M).group(1)
    assert sid != ids["cust.pub"], sid
    doc = json.loads(run(HAVEN, "key", "info", "--json", ws.path("cust.sign.pub"), check=0).stdout)
    assert doc["type"] == "custodian-signer" and doc["secret"] is False and doc["key_id"] == sid, doc
    p = run(HAVEN, "keygen", "--out", ws.path("keyinfo"), check=0)
    sid = re.search(r"signer id: ([0-9a-f]{16})$", p.stdout, re.M).group(1)
    p = run(HAVEN, "key", "info", ws.path("keyinfo.sign.pub"), check=0)
    assert f"key id: {sid}" in p.stdout, (sid, p.stdout)
    # an identity says whether it can sign custody events and reports (an old one cannot)
    assert f"signer: signer id {sid} (" in run(HAVEN, "key", "info", ws.path("keyinfo.key"), check=0).stdout
    with open(ws.path("keyinfo.key")) as f:
        first = f.readline()
    with open(ws.path("old-identity.key"), "w") as f:
        f.write(first)
    os.chmod(ws.path("old-identity.key"), 0o600)
    p = run(HAVEN, "key", "info", ws.path("old-identity.key"), check=0)
    assert "signer: none (made before signing keys" in p.stdout and "keygen --upgrade" in p.stdout, p.stdout
    assert "signer:" not in run(HAVEN, "key", "info", ws.path("keyinfo.pub"), check=0).stdout
    secret = open(ws.path("dev.key")).read().split()[1]
    p = run(HAVEN, "key", "info", "--json", ws.path("dev.key"), check=0)
    assert secret[:12] not in p.stdout and json.loads(p.stdout)["secret"] is True, p.stdout
    p = run(HAVEN, "key", "info", os.path.join(ARCH, "s1", "header.hvh"), check=2)
    assert "not a haven key file" in p.stderr, p.stderr
    run(HAVEN, "key", "info", ws.path("nosuch"), check=2)
    assert ids["dev.key"] in run(HAVEN, "info", os.path.join(ARCH, "s1"), check=0).stdout


R.case("key info: type and key id of each key file, never the secret", key_info)


def not_a_session():
    for path in (ARCH, ws.dir):
        for cmd in (["info"], ["export", "-i", ws.path("cust.key"), "-o", ws.path("never")]):
            p = run(HAVEN, *cmd, path, check=2)
            assert "is not a session directory (expected header.hvh" in p.stderr, p.stderr
            assert "INVALID" not in p.stdout + p.stderr, p.stdout
    exp = ws.path("exp-real")
    run(HAVEN, "export", "-i", ws.path("cust.key"), "-o", exp, os.path.join(ARCH, "s1"))
    p = run(HAVEN, "info", exp, check=2)
    assert "not a session directory" in p.stderr and "haven export" in p.stderr, p.stderr
    assert not os.path.exists(ws.path("never"))


R.case("a storage root or an export folder given to info/export: exit 2, says what a session is", not_a_session)


def limit_file_size():
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (20000, 20000))


def progress_cleared():
    """On a terminal, a verify that fails part-way clears its progress line
    before the verdict (it used to read "verifying ... 96% (0 MiB)INVALID")."""
    import pty
    import subprocess
    # several of the reader's 1 MiB blocks before the damage, so progress is shown first
    s = ws.session("prog", "--bytes", "3000000", "--events", "400", "--event-bytes", "10")
    recs, _ = records(s)
    # a record length (its high byte), late: progress is shown by then, and the scan stops there
    flip(os.path.join(s, "records.hvr"), recs[-30][0] + 35)
    master, slave = pty.openpty()
    p = subprocess.Popen([HAVEN, "verify", s], stdout=slave, stderr=slave)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    assert p.wait() == 1, out
    text = out.decode("utf-8", "replace")
    assert "verifying " in text, text            # the progress line was shown
    before = text[:text.index("INVALID")]
    assert before.endswith("\r\x1b[K"), repr(text)   # ... and cleared before the verdict


R.case("verify on a terminal: the progress line is cleared before a failing verdict", progress_cleared)


def export_failures():
    big = ws.session("big", "--bytes", "200000")
    out = ws.path("exp-full")
    p = run(HAVEN, "export", "-i", ws.path("cust.key"), "-o", out, big, preexec_fn=limit_file_size, check=2)
    assert "nothing exported" in p.stderr and "INVALID" not in p.stderr, p.stderr
    assert not os.path.exists(out) and not [n for n in os.listdir(ws.dir) if n.startswith("exp-full.")]
    # synthetic media is not MPEG-TS: the remux fails; the original and the report stay, exit 4
    out = ws.path("exp-noremux")
    p = run(HAVEN, "export", "-i", ws.path("cust.key"), "-o", out, os.path.join(ARCH, "s1"), check=4)
    assert "MP4 working copy NOT produced" in p.stderr and "mp4:         NOT produced" in p.stdout, p
    assert sorted(os.listdir(out)) == ["custody-report.html", "custody-report.html.sig", "custody-report.txt",
                                       "custody-report.txt.sig", "s1.ts"], os.listdir(out)
    assert "MP4 working copy NOT produced" in open(os.path.join(out, "custody-report.txt")).read()


R.case("export: a full disk is exit 2 leaving nothing, a failed remux exit 4 saying so", export_failures)


def remux_helper_fails():
    """The remux runs in haven-remux ($HAVEN_REMUX): a helper that exits
    non-zero, dies of a signal, is missing or hangs past its time limit
    ($HAVEN_REMUX_TIMEOUT here) is exit 4 with the original and
    the report exported, and a message naming the helper and what happened;
    never a crash of haven."""
    crash = ws.path("remux-crash.sh")
    with open(crash, "w") as f:
        f.write("#!/bin/sh\necho 'haven-remux: about to crash' >&2\nkill -SEGV $$\n")
    os.chmod(crash, 0o700)
    hang = ws.path("remux-hang.sh")
    with open(hang, "w") as f:
        f.write("#!/bin/sh\nexec sleep 120\n")
    os.chmod(hang, 0o700)
    cases = [("/bin/false", "the MP4 remux program /bin/false failed (exit status 1)"),
             (crash, f"the MP4 remux program {crash} was killed by signal 11 (Segmentation fault): about to crash"),
             (ws.path("no-such-remux"), "the MP4 remux program could not be run"),
             (hang, f"the MP4 remux program {hang} did not finish within 2 s; it was stopped")]
    for i, (helper, says) in enumerate(cases):
        out = ws.path(f"exp-helper{i}")
        env = dict(os.environ, HAVEN_REMUX=helper, HAVEN_REMUX_TIMEOUT="2")
        p = run(HAVEN, "export", "-i", ws.path("cust.key"), "-o", out, os.path.join(ARCH, "s1"), env=env, check=4)
        assert f"MP4 working copy NOT produced: {says}" in p.stderr, p.stderr
        assert "exit status 4" in p.stderr and "mp4:         NOT produced" in p.stdout, p
        assert sorted(os.listdir(out)) == ["custody-report.html", "custody-report.html.sig", "custody-report.txt",
                                           "custody-report.txt.sig", "s1.ts"], os.listdir(out)
        assert says in open(os.path.join(out, "custody-report.txt")).read()


R.case("export: a failing, crashing, missing or hung remux helper (haven-remux) is exit 4 saying which",
       remux_helper_fails)


def wrong_key():
    two = ws.session("two", "--bytes", "1000", recipients=("cust.pub", "cust2.pub"))
    run(HAVEN, "keygen", "--out", ws.path("cust3"), check=0)
    p = run(HAVEN, "export", "-i", ws.path("cust3.key"), "-o", ws.path("exp-wrong"), two, check=2)
    for k in ("cust.pub", "cust2.pub"):
        assert key_id(k) in p.stderr, p.stderr
    assert "recipients are key ids" in p.stderr, p.stderr
    assert not os.path.exists(ws.path("exp-wrong"))
    # one recipient: one sentence, no "1 recipients", no "?;"
    p = run(HAVEN, "export", "-i", ws.path("cust3.key"), "-o", ws.path("exp-wrong"), os.path.join(ARCH, "s1"),
            check=2)
    assert f"identity {key_id('cust3.pub')} is not one of this session's recipients (wrong key file?): " \
           f"the session's recipient is key id {key_id('cust.pub')}\n" in p.stderr, p.stderr
    assert "1 recipients" not in p.stderr and "?;" not in p.stderr, p.stderr
    # s1's custody log holds exports by cust.key: a wrong key file gets its error alone, not that warning first
    assert "warning" not in p.stderr and len(p.stderr.splitlines()) == 1, p.stderr


R.case("export with the wrong identity lists the session's recipients' key ids", wrong_key)


def catalog_archive():
    db = ws.path("cat2.db")
    arch2 = ws.path("arch2")
    shutil.copytree(ARCH, arch2)
    p = run(HAVEN, "catalog", "index", "--catalog", db, arch2, check=0)
    assert "4 added, 0 updated, 0 unchanged, 0 removed" in p.stdout, p.stdout
    p = run(HAVEN, "catalog", "index", "--catalog", db, arch2, check=0)
    assert "0 added, 0 updated, 4 unchanged, 0 removed" in p.stdout, p.stdout
    shutil.rmtree(os.path.join(arch2, "other"))
    os.remove(os.path.join(arch2, "s3", "seal.hvs"))   # now unsealed: read again, not COMPLETE
    p = run(HAVEN, "catalog", "index", "--catalog", db, arch2, check=0)
    assert "0 added, 1 updated, 2 unchanged, 1 removed" in p.stdout, p.stdout

    def rows(*args):
        p = run(HAVEN, "catalog", "list", "--catalog", db, *args, check=0)
        return [l.split() for l in p.stdout.splitlines()[1:-1]], p.stdout
    r, text = rows()
    assert text.splitlines()[0].split()[:4] == ["DEVICE", "SEQ", "START", "(UTC)"], text
    assert [x[1] for x in r] == ["1", "2", "3"] and r[2][5] != "COMPLETE", text
    assert text.splitlines()[-1] == "3 sessions", text
    r, text = rows("--room", "green")
    assert [x[1] for x in r] == ["2"] and "Green room" in text, text
    r, text = rows("--verdict", "complete")
    assert [x[1] for x in r] == ["1", "2"], text
    r, text = rows("--since", "2000-01-01", "--until", "2099-12-31T00:00:00Z")
    assert len(r) == 3, text
    r, text = rows("--until", "2000-01-01")
    assert r == [] and text.splitlines()[-1] == "0 sessions", text
    r, text = rows("--device", "0000")
    assert r == [], text
    p = run(HAVEN, "catalog", "list", "--catalog", db, "--since", "yesterday", check=2)
    assert "--since: 'yesterday' is not a time" in p.stderr, p.stderr
    run(HAVEN, "catalog", "list", "--catalog", db, "--verdict", "fine", check=2)
    p = run(HAVEN, "catalog", "show", "--catalog", db, "2", check=0)
    assert "sequence 2" in p.stdout and "Green room" in p.stdout and "1 marker)" in p.stdout, p.stdout
    sid = re.search(r"session id:  ([0-9a-f]{32})", p.stdout).group(1)
    assert run(HAVEN, "catalog", "show", "--catalog", db, sid[:8], check=0).stdout == p.stdout
    p = run(HAVEN, "catalog", "show", "--catalog", db, "9", check=2)
    # says how the argument was read: a short number is a sequence, not the start of a session id
    assert "no session with sequence 9 in" in p.stderr and "8 or more of its hex digits" in p.stderr, p.stderr
    p = run(HAVEN, "catalog", "show", "--catalog", db, "ffffffffff", check=2)
    assert "no session whose id starts with ffffffffff in" in p.stderr, p.stderr
    p = run(HAVEN, "catalog", "list", "--catalog", ws.path("nosuch.db"), check=2)
    assert "no such file" in p.stderr and "catalog index" in p.stderr, p.stderr
    assert not os.path.exists(ws.path("nosuch.db"))
    # the first export, from an intact custody log; a broken log counts nothing
    def exported(seq):
        d = json.loads(run(HAVEN, "catalog", "list", "--json", "--catalog", db, check=0).stdout)
        return [x for x in d["sessions"] if x["sequence"] == seq][0]["exported_us"]
    assert exported(2) is None
    run(HAVEN, "export", "-i", ws.path("cust.key"), "-o", ws.path("x-cat2"), os.path.join(arch2, "s2"), check=4)
    run(HAVEN, "catalog", "index", "--catalog", db, arch2, check=0)
    assert exported(2) and exported(3) is None
    with open(os.path.join(arch2, "s2", "custody.log"), "a") as f:
        f.write("{}\n")
    p = run(HAVEN, "catalog", "index", "--catalog", db, arch2, check=0)
    assert "custody log broken" in p.stderr and exported(2) is None, p.stderr
    # the default catalog of an archive is DIR/catalog.db
    run(HAVEN, "catalog", "index", ARCH, check=0)
    p = run(HAVEN, "catalog", "list", "--catalog", os.path.join(ARCH, "catalog.db"), check=0)
    assert p.stdout.splitlines()[-1] == "4 sessions", p.stdout


R.case("catalog index of an archive: incremental, filters, show by sequence or id prefix", catalog_archive)


def audit_columns():
    """haven audit's text: the action and result columns line up whatever the actor (a user name, or
    'marker button', longer than 12 characters, pushed them out of line)"""
    db = ws.path("audit.db")
    run(HAVEN, "catalog", "index", "--catalog", db, os.path.join(ARCH, "s1"), check=0)
    rows = [("root (uid 0)", "start", "IDLE -> STARTING"), ("marker button", "mark", "marker added"),
            ("a.very-long.user.name (uid 1234)", "sim press record", "done"), ("jöns (uid 7)", "stop", "done")]
    import sqlite3
    con = sqlite3.connect(db)
    with con:
        for i, (actor, action, result) in enumerate(rows):
            con.execute("INSERT INTO audit(wall_us, actor, action, result) VALUES (?,?,?,?)",
                        (1795958749000000 + i, actor, action, result))
    con.close()
    lines = run(HAVEN, "audit", "--catalog", db, check=0).stdout.splitlines()
    assert lines[-1] == "4 audit entries", lines
    starts = set()
    for line, (actor, action, result) in zip(lines, rows):
        assert line.endswith(result), (line, result)
        a, r = line.index(actor), line.rindex(result)
        starts.add((line.index(action, a + len(actor)), r))
    assert len(starts) == 1, lines


R.case("audit: columns aligned whatever the length of the actor", audit_columns)

ws.cleanup()
R.finish()
