# SPDX-License-Identifier: GPL-2.0-or-later
"""Custodian signing keys, the signed custody log and the signed report
(issue 11 §1, §2): keygen/upgrade, export's custody event, haven custody
show|verify|add|verify-report, tampering with the log or the report, the
printable HTML report and a golden report with the varying fields masked.
The log and the report signature are also checked here by an independent
verifier written from docs/FORMAT.md §12-13 (hashlib + cryptography)."""
import base64
import hashlib
import json
import os
import re
import shutil
import stat

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from vaulttest import HAVEN, Runner, Workspace, run

ws = Workspace()
R = Runner("custody")
HERE = os.path.dirname(os.path.abspath(__file__))


def export(session, out, *extra, key="cust.key", check=4):
    """check 4 by default: hv-mksession's media is synthetic, so there is no MP4
    (exit 4); the original, the reports and the custody event are there."""
    p = run(HAVEN, "export", "--identity", ws.path(key), "--out", ws.path(out), *extra, session, check=check)
    if check not in (0, 4):
        assert not os.path.exists(ws.path(out)), "export left files behind"
    return p


def log_lines(session):
    with open(os.path.join(session, "custody.log"), "rb") as f:
        return f.read().split(b"\n")[:-1]


def write_lines(session, lines, end=b"\n"):
    with open(os.path.join(session, "custody.log"), "wb") as f:
        f.write(b"\n".join(lines) + (end if lines else b""))


def cverify(session, *extra, check):
    return run(HAVEN, "custody", "verify", *extra, session, check=check)


# --- an independent verifier (docs/FORMAT.md §12) ---------------------------

def independent_check(session, signer_pub=None):
    with open(os.path.join(session, "seal.hvs"), "rb") as f:
        prev = hashlib.blake2b(f.read(), digest_size=32).hexdigest()
    for seq, line in enumerate(log_lines(session), start=1):
        suffix = len(b',"sig":"') + 88 + 2
        assert line[-suffix:].startswith(b',"sig":"') and line.endswith(b'"}'), line
        body = line[:-suffix] + b"}"
        e = json.loads(line)
        assert list(e)[0] == "format" and list(e)[-1] == "sig", list(e)
        assert e["format"] == "haven-custody-v1" and e["seq"] == seq and e["prev"] == prev, (seq, e)
        pk = base64.b64decode(e["signer"])
        if signer_pub:
            assert pk == signer_pub
        Ed25519PublicKey.from_public_bytes(pk).verify(base64.b64decode(e["sig"]),
                                                      b"HAVEN-CUSTODY-v1\0" + body)
        prev = hashlib.blake2b(line, digest_size=32).hexdigest()
    return prev


def signer_pub(prefix):
    with open(ws.path(prefix + ".sign.pub")) as f:
        label, b64 = f.read().split()
    assert label == "haven-signer-v1"
    return base64.b64decode(b64)


# --- keys -------------------------------------------------------------------

def keygen_makes_signing_key():
    with open(ws.path("cust.key")) as f:
        lines = f.read().splitlines()
    assert [l.split()[0] for l in lines] == ["haven-identity-v1", "haven-signing-v1"], lines
    assert stat.S_IMODE(os.stat(ws.path("cust.key")).st_mode) == 0o600
    assert len(signer_pub("cust")) == 32


R.case("keygen writes an identity with a signing key and PREFIX.sign.pub", keygen_makes_signing_key)


def make_old_identity(prefix):
    """An identity file as made before signing keys: its first line only."""
    run(HAVEN, "keygen", "--out", ws.path(prefix), check=0)
    with open(ws.path(prefix + ".key")) as f:
        first = f.readline()
    os.chmod(ws.path(prefix + ".key"), 0o600)
    with open(ws.path(prefix + ".key"), "w") as f:
        f.write(first)
    os.unlink(ws.path(prefix + ".sign.pub"))
    return first


def old_identity_and_upgrade():
    first = make_old_identity("old")
    s = ws.session("olds", "--bytes", "20000", recipients=("old.pub",))
    p = export(s, "o1", key="old.key")
    assert "no signing key" in p.stderr and "--upgrade" in p.stderr, p.stderr
    assert not os.path.exists(os.path.join(s, "custody.log"))
    assert not os.path.exists(ws.path("o1", "custody-report.txt.sig"))
    with open(ws.path("o1", "custody-report.txt")) as f:
        assert "NOT SIGNED" in f.read()
    add = run(HAVEN, "custody", "add", "--action", "transfer", "--to", "x", "--identity", ws.path("old.key"), s,
              check=2)
    assert "no signing key" in add.stderr, add.stderr
    u = run(HAVEN, "keygen", "--upgrade", ws.path("old.key"), check=0)
    assert "old.sign.pub" in u.stdout, u.stdout
    assert stat.S_IMODE(os.stat(ws.path("old.key")).st_mode) == 0o600
    with open(ws.path("old.key")) as f:
        lines = f.read().splitlines(keepends=True)
    assert lines[0] == first and lines[1].startswith("haven-signing-v1 "), lines
    # the old session still decrypts after the upgrade, and now is recorded
    export(s, "o2", key="old.key")
    assert len(log_lines(s)) == 1
    cverify(s, "--signer", ws.path("old.sign.pub"), check=0)
    again = run(HAVEN, "keygen", "--upgrade", ws.path("old.key"), check=2)
    assert "already has a signing key" in again.stderr, again.stderr


R.case("old identity: export warns, no custody event; --upgrade keeps the decryption key", old_identity_and_upgrade)


# --- the log ------------------------------------------------------------------

def three_entries(name, with_export=False):
    s = ws.session(name, "--bytes", "20000", "--markers", "1")
    if with_export:
        export(s, name + "-x", "--ref", "Case 7 / Exhibit 2", "--to", "Crown Court")
    else:  # quicker: the tamper cases need three signed entries, not a decryption
        run(HAVEN, "custody", "add", "--action", "verify", "--ref", "Case 7 / Exhibit 2", "--identity",
            ws.path("cust.key"), s, check=0)
    run(HAVEN, "custody", "add", "--action", "transfer", "--to", "Evidence store B", "--ref", "Case 7",
        "--identity", ws.path("cust.key"), s, check=0)
    run(HAVEN, "custody", "add", "--action", "handover", "--to", "DC Smith <badge 42>", "--ref", "Case 7",
        "--identity", ws.path("cust.key"), s, check=0)
    return s


def export_and_add_recorded():
    s = three_entries("log1", with_export=True)
    lines = log_lines(s)
    assert len(lines) == 3
    e = [json.loads(l) for l in lines]
    assert [x["action"] for x in e] == ["export", "transfer", "handover"]
    assert e[0]["ref"] == "Case 7 / Exhibit 2" and e[0]["to"] == "Crown Court"
    assert e[0]["out"] == os.path.realpath(ws.path("log1-x")), e[0]["out"]
    names = {f["path"]: f["sha256"] for f in e[0]["files"]}
    for n in ("log1.ts", "custody-report.txt", "custody-report.html"):
        with open(ws.path("log1-x", n), "rb") as f:
            assert names[n] == hashlib.sha256(f.read()).hexdigest(), n
    assert e[0]["tool"] == "haven" and e[0]["os_user"] and e[0]["time"].endswith("Z")
    head = independent_check(s, signer_pub("cust"))
    v = cverify(s, check=0)
    assert "INTACT" in v.stdout and "NOT PINNED" in v.stdout, v.stdout
    v = cverify(s, "--signer", ws.path("cust.sign.pub"), check=0)
    assert "signers pinned" in v.stdout, v.stdout
    sh = run(HAVEN, "custody", "show", s, check=0).stdout
    assert "#3" in sh and "DC Smith <badge 42>" in sh and "Crown Court" in sh, sh
    doc = json.loads(run(HAVEN, "custody", "show", "--json", s, check=0).stdout)
    assert doc["intact"] and doc["entry_count"] == 3 and doc["entries"][1]["to"] == "Evidence store B", doc
    assert doc["entries"][2]["hash"] == head, (doc["entries"][2]["hash"], head)
    # the session's own verification ignores the custody log
    vv = run(HAVEN, "verify", s, check=0)
    assert vv.stdout.startswith("COMPLETE"), vv.stdout


R.case("export and custody add append signed entries; show, verify, independent verifier", export_and_add_recorded)


def tamper(label, fn, word, bad_entry, *extra):
    def case():
        s = three_entries("t-" + label)
        fn(s)
        p = cverify(s, *extra, check=1)
        assert f"BROKEN" in p.stdout and f"entry {bad_entry}:" in p.stdout and word in p.stdout, p.stdout
        doc = json.loads(run(HAVEN, "custody", "verify", "--json", *extra, s, check=1).stdout)
        assert not doc["intact"] and doc["bad_entry"] == bad_entry, doc
        # a broken log is never extended
        a = run(HAVEN, "custody", "add", "--action", "verify", "--identity", ws.path("cust.key"), s, check=2)
        assert "does not verify" in a.stderr, a.stderr
        if label == "edit a field":  # export checks the log first, as add does
            export(s, "t-" + label + "-x2", check=2)
        # and the session itself is untouched by what happened to its log
        assert run(HAVEN, "verify", s, check=0).stdout.startswith("COMPLETE")
    R.case(f"custody log tamper: {label}", case)


def edit_field(s):
    l = log_lines(s)
    l[1] = l[1].replace(b"Evidence store B", b"Evidence store C")
    write_lines(s, l)


def delete_entry(s):
    l = log_lines(s)
    write_lines(s, [l[0], l[2]])


def reorder(s):
    l = log_lines(s)
    write_lines(s, [l[0], l[2], l[1]])


def truncate(s):
    with open(os.path.join(s, "custody.log"), "r+b") as f:
        f.truncate(os.path.getsize(os.path.join(s, "custody.log")) - 40)


def duplicate(s):
    l = log_lines(s)
    write_lines(s, [l[0], l[1], l[1], l[2]])


def splice(s):
    other = three_entries("t-splice-other")
    l, o = log_lines(s), log_lines(other)
    write_lines(s, [l[0], o[1], l[2]])


def first_from_other(s):
    other = three_entries("t-first-other")
    write_lines(s, log_lines(other)[:1])


tamper("edit a field", edit_field, "signature does not verify", 2)
tamper("delete an entry", delete_entry, "sequence 3 where 2 was due", 2)
tamper("reorder", reorder, "sequence 3 where 2 was due", 2)
tamper("truncate inside the last entry", truncate, "truncated", 3)
tamper("duplicate an entry", duplicate, "sequence 2 where 3 was due", 3)
tamper("splice from another session's log", splice, "belongs to session", 2)
tamper("a whole log from another session", first_from_other, "belongs to session", 1)


def unpinned_signer():
    s = three_entries("unpinned")
    run(HAVEN, "custody", "add", "--action", "handover", "--to", "someone", "--identity", ws.path("cust2.key"), s,
        check=0)
    cverify(s, check=0)  # any key, said NOT PINNED
    p = cverify(s, "--signer", ws.path("cust.sign.pub"), check=1)
    assert "entry 4:" in p.stdout and "none of the --signer keys" in p.stdout, p.stdout
    cverify(s, "--signer", ws.path("cust.sign.pub"), "--signer", ws.path("cust2.sign.pub"), check=0)
    # appending onto another key's entries says so (the chain takes them in)
    other = run(HAVEN, "key", "info", ws.path("cust2.sign.pub"), check=0).stdout
    other_id = re.search(r"key id:\s+(\S+)", other).group(1)
    p = run(HAVEN, "custody", "add", "--action", "transfer", "--to", "store", "--identity", ws.path("cust.key"), s,
            check=0)
    assert "signed by other keys" in p.stderr and other_id in p.stderr, p.stderr
    p = export(s, "unpinned-x")
    assert "signed by other keys" in p.stderr and other_id in p.stderr, p.stderr
    mine = three_entries("unpinned-mine")
    p = run(HAVEN, "custody", "add", "--action", "transfer", "--to", "store", "--identity", ws.path("cust.key"),
            mine, check=0)
    assert "other keys" not in p.stderr, p.stderr


R.case("an entry by a key that is not pinned with --signer is named; appending onto it warns", unpinned_signer)


def resigned_by_forger():
    """A forger rewrites the last entry and signs it with their own key: the
    chain holds, only pinning catches it."""
    s = three_entries("forged")
    l = log_lines(s)
    # re-sign with cust2's key through the tool itself: add an entry on a copy chained the same way
    copy = ws.copy("forged", "forged-copy")
    write_lines(copy, l[:2])
    run(HAVEN, "custody", "add", "--action", "handover", "--to", "Forger", "--identity", ws.path("cust2.key"), copy,
        check=0)
    write_lines(s, l[:2] + [log_lines(copy)[2]])
    cverify(s, check=0)
    p = cverify(s, "--signer", ws.path("cust.sign.pub"), check=1)
    assert "entry 3:" in p.stdout and "none of the --signer keys" in p.stdout, p.stdout


R.case("a re-signed entry by another key is caught by --signer", resigned_by_forger)


def log_cannot_make_verify_lie():
    s = three_entries("lie")
    with open(os.path.join(s, "records.hvr"), "r+b") as f:
        f.seek(100)
        b = f.read(1)
        f.seek(100)
        f.write(bytes([b[0] ^ 1]))
    p = run(HAVEN, "verify", s, check=1)
    assert p.stdout.startswith("INVALID"), p.stdout
    with open(os.path.join(s, "custody.log"), "wb") as f:
        f.write(b"COMPLETE garbage\n")
    p = run(HAVEN, "verify", s, check=1)
    assert p.stdout.startswith("INVALID"), p.stdout


R.case("a custody log never changes the session's own verdict", log_cannot_make_verify_lie)


def custody_log_elsewhere():
    s = ws.session("ro", "--bytes", "20000")
    alt = ws.path("ro-custody.log")
    export(s, "ro-x", "--custody-log", alt)
    assert not os.path.exists(os.path.join(s, "custody.log"))
    p = run(HAVEN, "custody", "verify", "--custody-log", alt, s, check=0)
    assert "INTACT" in p.stdout and "1 entry" in p.stdout, p.stdout
    with open(ws.path("ro-x", "custody-report.txt")) as f:
        assert os.path.realpath(alt) in f.read()
    # a place the log cannot be written: nothing is exported
    with open(ws.path("a-file"), "w") as f:
        f.write("x")
    p = export(s, "ro-y", "--custody-log", ws.path("a-file", "custody.log"), check=2)
    assert "custody.log" in p.stderr, p.stderr
    # a write-protected master: a session directory the custodian cannot write
    # (root writes anywhere, so as root the export runs as nobody)
    import tempfile
    top = tempfile.mkdtemp(prefix="haven-ro-")
    try:
        os.chmod(top, 0o755)
        master = os.path.join(top, "master")
        shutil.copytree(s, master)
        for n in os.listdir(master):
            os.chmod(os.path.join(master, n), 0o444)
        os.chmod(master, 0o555)
        mine = os.path.join(top, "mine")
        os.mkdir(mine, 0o700)
        shutil.copy(ws.path("cust.key"), os.path.join(mine, "k.key"))
        kw = {}
        if os.geteuid() == 0:
            nobody = 65534
            for d, _, files in os.walk(mine):
                os.chown(d, nobody, nobody)
                for n in files:
                    os.chown(os.path.join(d, n), nobody, nobody)
            kw = dict(user=nobody, group=nobody, extra_groups=[])
        haven = HAVEN
        if os.geteuid() == 0:
            # the build tree may be where nobody cannot reach (a clone under /root):
            # run a copy of the binary (it links no library from the build tree)
            haven = os.path.join(top, "haven")
            shutil.copy(HAVEN, haven)
            os.chmod(haven, 0o755)
            # ... and LeakSanitizer's suppressions, which it must read (under ASan)
            env = dict(os.environ)
            opts = env.get("LSAN_OPTIONS", "")
            m = re.search(r"suppressions=([^:]+)", opts)
            if m and os.path.exists(m.group(1)):
                supp = os.path.join(top, "lsan.supp")
                shutil.copy(m.group(1), supp)
                os.chmod(supp, 0o644)
                env["LSAN_OPTIONS"] = opts.replace(m.group(0), "suppressions=" + supp)
            kw["env"] = env
        args = [haven, "export", "--identity", os.path.join(mine, "k.key"), "--out"]
        p = run(*args, os.path.join(mine, "x"), master, **kw)
        assert p.returncode == 2, (p.returncode, p.stderr)
        assert "write-protected master" in p.stderr and "--custody-log" in p.stderr, p.stderr
        assert not os.path.exists(os.path.join(mine, "x")) and not os.path.exists(os.path.join(master, "custody.log"))
        log = os.path.join(mine, "master-custody.log")
        p = run(*args, os.path.join(mine, "y"), "--custody-log", log, master, **kw)
        assert p.returncode == 4, p.stderr   # 4: synthetic media, no MP4
        run(HAVEN, "custody", "verify", "--custody-log", log, "--signer", ws.path("cust.sign.pub"), master, check=0)
    finally:
        os.chmod(os.path.join(top, "master"), 0o755)
        shutil.rmtree(top, ignore_errors=True)


R.case("--custody-log keeps the log elsewhere; an unwritable log means no export", custody_log_elsewhere)


def add_usage():
    s = ws.session("addu", "--bytes", "20000")
    p = run(HAVEN, "custody", "add", "--action", "transfer", "--identity", ws.path("cust.key"), s, check=2)
    assert "needs --to" in p.stderr, p.stderr
    # errors name the subcommand as its unknown options do ("haven custody add: ...", not "custody: add:")
    assert p.stderr.startswith("haven custody add: --action transfer needs --to"), p.stderr
    for sub in ("show", "verify", "verify-report"):
        p = run(HAVEN, "custody", sub, check=2)
        assert p.stderr.startswith(f"haven custody {sub}: one "), p.stderr
    p = run(HAVEN, "custody", "add", "--action", "export", "--to", "x", "--identity", ws.path("cust.key"), s,
            check=2)
    assert "haven export" in p.stderr, p.stderr
    p = run(HAVEN, "custody", "add", "--action", "transfer", "--to", "x" * 2000, "--identity",
            ws.path("cust.key"), s, check=2)
    assert "longer than" in p.stderr, p.stderr
    assert not os.path.exists(os.path.join(s, "custody.log"))
    run(HAVEN, "custody", "verify", ws.dir, check=2)


R.case("custody add: usage errors record nothing", add_usage)


# --- the report ---------------------------------------------------------------

def report_signature():
    s = ws.session("rep", "--bytes", "20000")
    export(s, "rep-x")
    for name in ("custody-report.txt", "custody-report.html"):
        r = ws.path("rep-x", name)
        p = run(HAVEN, "custody", "verify-report", "--signer", ws.path("cust.sign.pub"), r, check=0)
        assert p.stdout.startswith("VALID") and "pinned" in p.stdout, p.stdout
        # independent check of the signature file (FORMAT.md §13)
        with open(r + ".sig", "rb") as f:
            sig = f.read()
        head, last = sig[:sig.index(b"signature: ")], sig[sig.index(b"signature: "):]
        fields = dict(l.split(": ", 1) for l in head.decode().splitlines()[1:])
        with open(r, "rb") as f:
            assert fields["sha256"] == hashlib.sha256(f.read()).hexdigest()
        Ed25519PublicKey.from_public_bytes(base64.b64decode(fields["signer"])).verify(
            base64.b64decode(last.split()[1]), b"HAVEN-REPORT-v1\0" + head)
        p = run(HAVEN, "custody", "verify-report", "--signer", ws.path("cust2.sign.pub"), r, check=1)
        assert "none of the --signer keys" in p.stdout and p.stdout.count(r) == 1, p.stdout
        # the wrong kind of key as --signer: the error says which file is wanted
        for wrong, kind in (("cust.pub", "recipient"),):
            p = run(HAVEN, "custody", "verify-report", "--signer", ws.path(wrong), r, check=2)
            assert kind in p.stderr and "PREFIX.sign.pub" in p.stderr and "device" not in p.stderr, p.stderr
        shutil.copy(r, r + ".orig")
        with open(r, "ab") as f:
            f.write(b" ")
        p = run(HAVEN, "custody", "verify-report", r, check=1)
        assert "changed after signing" in p.stdout and p.stdout.count(r) == 1, p.stdout
        shutil.copy(r + ".orig", r)
        run(HAVEN, "custody", "verify-report", r, check=0)
        with open(r + ".sig", "r+b") as f:
            data = f.read().replace(b"file: ", b"file: X")
            f.seek(0)
            f.write(data)
        p = run(HAVEN, "custody", "verify-report", r, check=1)
        assert "does not verify" in p.stdout, p.stdout
        os.unlink(r + ".sig")
        run(HAVEN, "custody", "verify-report", r, check=2)
    # the export directory instead of a report: the reports in it are named
    p = run(HAVEN, "custody", "verify-report", ws.path("rep-x"), check=2)
    assert "is a directory: give the report, " + ws.path("rep-x", "custody-report.txt") in p.stderr, p.stderr


R.case("report signatures: valid, changed report, changed .sig, unpinned signer, missing", report_signature)


def report_fields():
    s = ws.session("fields", "--bytes", "20000")
    export(s, "fields-x", "--ref", "Exhibit JB/4", "--to", "Crown Court", "--device-key", ws.path("dev.key.pub"))
    with open(ws.path("fields-x", "custody-report.txt")) as f:
        r = f.read()
    assert re.search(r"^Tool: +haven \d", r, re.M), r
    assert re.search(r"^OS user: +\S+ \(uid \d+\)", r, re.M), r
    assert f"Source session:  {os.path.realpath(s)}\n" in r, r
    assert "Case/exhibit:    Exhibit JB/4\n" in r and "Recipient:       Crown Court\n" in r, r
    assert "pinned: matches" in r and "NOT PINNED" not in r, r
    for n in ("header.hvh", "records.hvr", "index.hvi", "seal.hvs"):
        with open(os.path.join(s, n), "rb") as f:
            line = f"  {hashlib.sha256(f.read()).hexdigest()}  {os.path.realpath(s)}/{n}\n"
        assert line in r, (line, r)
    assert "Custody event:   entry 1 of " in r, r


R.case("report: tool, OS user, absolute source, sealed file hashes, pinned, case/exhibit", report_fields)


def html_escaped():
    s = ws.session("html", "--bytes", "20000", "--markers", "2", "--marker-text", "<script>alert(1)</script>",
                   "--room", "Room &<>\"' 1")
    export(s, "html-x", "--ref", "<b>ref</b>")
    with open(ws.path("html-x", "custody-report.html")) as f:
        h = f.read()
    assert "<script" not in h.lower(), "unescaped script"
    assert h.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 2, h
    assert "Room &amp;&lt;&gt;&quot;&apos; 1" in h, h
    assert "&lt;b&gt;ref&lt;/b&gt;" in h
    assert "@page { size: A4;" in h and "<style>" in h
    for external in ("src=", "href=", "@import", "url(", "http:", "https:"):
        assert external not in h, external


R.case("HTML report: marker, room and --ref text escaped; self-contained A4 page", html_escaped)


MASKS = [
    (re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC"), "<TIME>"),
    (re.compile(r"\b[0-9a-f]{64}\b"), "<SHA256>"),
    (re.compile(r"\b[0-9a-f]{32}\b"), "<SESSION-ID>"),
    (re.compile(r"\b[0-9a-f]{16}\b"), "<KEY-ID>"),
    (re.compile(r"\b[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}\b"), "<FINGERPRINT>"),
    (re.compile(r"\+\d\d:\d\d:\d\d\.\d"), "+<OFFSET>"),
    (re.compile(r"\(\d\d:\d\d:\d\d\.\d\)"), "(<DURATION>)"),
    (re.compile(r">\d\d:\d\d:\d\d\.\d<"), "><OFFSET><"),
    (re.compile(r"host \S+ by"), "host <HOST> by"),
    (re.compile(r"haven \d+\.\d+\.\d+"), "haven <VERSION>"),
]


def masked(text):
    text = text.replace(os.path.realpath(ws.dir), "<WS>")
    text = re.sub(r"(OS user(?::\s+|</th><td>))(.*?) \(uid \d+\)", r"\1<USER> (uid <UID>)", text)
    # synthetic media never remuxes; the remux's wording of why may vary
    text = re.sub(r"(MP4 working copy NOT produced: )[^\n<]*", r"\1<REASON>", text)
    for rx, rep in MASKS:
        text = rx.sub(rep, text)
    return text


def golden():
    s = ws.session("golden", "--bytes", "20000", "--markers", "2", "--marker-text", "child asks for a break",
                   "--room", "Interview room 2")
    export(s, "golden-x", "--ref", "Case 2026/118, exhibit JB/4", "--to", "Crown Court at Leeds")
    for name in ("custody-report.txt", "custody-report.html"):
        with open(ws.path("golden-x", name)) as f:
            got = masked(f.read())
        path = os.path.join(HERE, "golden", name)
        if os.environ.get("HAVEN_UPDATE_GOLDEN"):
            with open(path, "w") as f:
                f.write(got)
        with open(path) as f:
            want = f.read()
        if got != want:
            import difflib
            diff = "".join(difflib.unified_diff(want.splitlines(True), got.splitlines(True), "golden", "got"))
            raise AssertionError(f"{name} differs from tests/integration/golden/{name} "
                                 f"(HAVEN_UPDATE_GOLDEN=1 rewrites it):\n{diff}")


R.case("golden report (text and HTML) with the varying fields masked", golden)

ws.cleanup()
R.finish()
