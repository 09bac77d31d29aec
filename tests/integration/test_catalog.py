# SPDX-License-Identifier: GPL-2.0-or-later
"""haven catalog list|show and haven audit on the catalog the real havend
keeps (issue 11 §3): read while havend runs (read-only, never locking it
out), the sessions it recorded and the audit of who started, marked and
stopped."""
import getpass
import json
import time

from daemontest import Daemon
from vaulttest import Runner, Workspace

ws = Workspace()
R = Runner("catalog")


def board_catalog():
    d = Daemon(ws).start()
    try:
        d.haven("start", check=0)
        d.haven("mark", "child drew a picture", check=0)
        d.haven("stop", check=0)
        conf = ["--config", d.conf]
        # havend indexes the sealed session in the background: wait for it
        end = time.time() + 30
        while True:
            doc = json.loads(d.haven("catalog", "list", "--json", *conf, check=0).stdout)
            if doc["sessions"] and doc["sessions"][0]["verdict"] == "COMPLETE":
                break
            assert time.time() < end, f"havend never indexed the session: {doc}"
            time.sleep(0.1)
        assert doc["schema"] == "haven.catalog.list/1", doc
        s = doc["sessions"][0]
        assert s["sequence"] == 1 and s["room"] == "Test room" and s["markers"] == 1, s
        assert s["duration_us"] > 0 and s["offloaded_us"] is None, s
        v = json.loads(d.haven("verify", "--json", d.sessions()[0], check=0).stdout)
        assert v["sessions"][0]["fingerprint"] == s["fingerprint"], (v, s)
        text = d.haven("catalog", "list", *conf, "--verdict", "COMPLETE", check=0).stdout
        assert s["fingerprint"] in text and "Test room" in text and text.endswith("1 session\n"), text
        show = d.haven("catalog", "show", *conf, "1", check=0).stdout
        assert "child drew a picture" in show and "1 marker)" in show, show
        audit = json.loads(d.haven("audit", "--json", *conf, check=0).stdout)
        mine = [(e["action"], e["result"]) for e in audit["entries"] if e["actor"].startswith(getpass.getuser())]
        assert [a for a, _ in mine] == ["start", "mark", "stop"], audit
        assert all(e["time"].endswith("Z") for e in audit["entries"]), audit
        later = d.haven("audit", *conf, "--since", "2999-01-01", check=0).stdout
        assert later == "0 audit entries\n", later
        # reading never held havend up: it records again at once
        d.haven("start", check=0)
        d.haven("stop", check=0)
        assert d.status()["last_session"]["status"] == "COMPLETE"
        # the record button's start and stop are audited too, as the marker button's markers are
        d.press()
        d.wait(lambda st: st["state"] == "RECORDING", 60, "the button's start")
        d.press(hold=2.5)
        d.wait(lambda st: st["state"] == "IDLE", 60, "the button's stop")
        audit = json.loads(d.haven("audit", "--json", *conf, check=0).stdout)
        button = [(e["action"], e["result"]) for e in audit["entries"] if e["actor"] == "record button"]
        assert button == [("start", "IDLE -> STARTING"), ("stop", "RECORDING -> STOPPING")], audit
    finally:
        d.stop()


R.case("catalog list/show and audit read havend's catalog while it runs", board_catalog)

ws.cleanup()

def hostile_catalog():
    """attack10: a catalog is a file that may come from elsewhere (beside a copied
    archive). Rows the indexers could not have written (control characters,
    invalid UTF-8) are escaped by catalog show/list, text and JSON; text the
    indexer stored escaped is shown as stored, not escaped twice."""
    import os
    import sqlite3
    import subprocess
    from vaulttest import HAVEN, run
    ws = Workspace()
    try:
        arch = ws.path("arch")
        os.makedirs(arch)
        ws.session("arch/s1", "--markers", "2", "--marker-text", "a\\b\nc")
        db = os.path.join(arch, "catalog.db")
        run(HAVEN, "catalog", "index", arch, check=0)
        sid = json.loads(run(HAVEN, "catalog", "list", "--json", "--catalog", db, check=0).stdout)["sessions"][0][
            "session_id"]
        before = run(HAVEN, "catalog", "show", "--catalog", db, sid, check=0).stdout
        assert "a\\\\b\\nc" in before, before   # stored escaped: shown once escaped
        c = sqlite3.connect(db)
        c.execute("UPDATE events SET text = CAST(? AS TEXT), type = CAST(? AS TEXT) WHERE idx = "
                  "(SELECT MIN(idx) FROM events WHERE type = 'marker')",
                  (b"evil\x1b]0;pwned\x07\xff\n", b"mark\x1b[2J"))
        c.execute("UPDATE sessions SET device = CAST(? AS TEXT), status = CAST(? AS TEXT)",
                  (b"dev\x1b[31m", b"COMPLETE\x1b[0m\xfe"))
        c.commit()
        c.close()
        for args in (["show", "--catalog", db, sid], ["list", "--catalog", db]):
            p = subprocess.run([HAVEN, "catalog", *args], capture_output=True)
            assert p.returncode == 0, p
            out = p.stdout
            assert b"\x1b" not in out and b"\x07" not in out, out
            out.decode("utf-8")   # valid UTF-8
        out = subprocess.run([HAVEN, "catalog", "show", "--catalog", db, sid], capture_output=True).stdout.decode()
        assert "evil\\u{001B}]0;pwned\\u{0007}\\xFF\\n" in out and "mark\\u{001B}[2J" in out, out
        assert "a\\\\b\\nc" in out, out   # the untouched marker: as before
        for args in (["show", "--json", "--catalog", db, sid], ["list", "--json", "--catalog", db]):
            p = subprocess.run([HAVEN, "catalog", *args], capture_output=True)
            assert p.returncode == 0, p
            json.loads(p.stdout.decode("utf-8"))
    finally:
        ws.cleanup()


R.case("a hostile catalog file: rows escaped in show/list, text and JSON (attack10)", hostile_catalog)

R.finish()
