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
    finally:
        d.stop()


R.case("catalog list/show and audit read havend's catalog while it runs", board_catalog)

ws.cleanup()
R.finish()
