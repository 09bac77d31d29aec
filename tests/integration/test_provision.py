# SPDX-License-Identifier: GPL-2.0-or-later
"""haven provision (issue 10 §4): the config partition, written to a mounted
directory or into the HAVENCFG partition of an image file; refusals write
nothing; re-provisioning keeps enrollment.conf and reports the changes."""
import os
import shutil
import subprocess

from vaulttest import HAVEN, Runner, Workspace, run

R = Runner("provision")
ENV = dict(os.environ, MTOOLS_SKIP_CHECK="1")


def tree(d):
    out = {}
    for root, _, files in os.walk(d):
        for f in files:
            p = os.path.join(root, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, d)] = fh.read()
    return out


def provision(target, *args, check=0):
    return run(HAVEN, "provision", target, *args, check=check)


def conf_of(text):
    return dict(l.split("=", 1) for l in text.splitlines() if "=" in l and not l.startswith("#"))


def directory():
    ws = Workspace()
    try:
        cfg = ws.path("cfg")
        os.makedirs(cfg)
        p = provision(cfg, "--room", "Room 1", "--board", "rpi4", "--recipient", ws.path("cust.pub"),
                      "--recipient", ws.path("cust2.pub"))
        assert "provisioned" in p.stdout and "2 recipients" in p.stdout, p.stdout
        t = tree(cfg)
        assert sorted(t) == ["README.txt", "haven.conf", "recipients/cust.pub", "recipients/cust2.pub"], sorted(t)
        with open(ws.path("cust.pub"), "rb") as f:
            assert t["recipients/cust.pub"] == f.read()
        c = conf_of(t["haven.conf"].decode())
        assert c["room"] == "Room 1" and c["board"] == "/usr/share/haven/boards/rpi4.board", c
        assert c["key"] == "/var/lib/haven/device.key" and c["state-dir"] == "/var/lib/haven", c
        assert c["roots"] == "/srv/haven", c
        assert c["recipients"].rstrip(";").split(";") == ["/etc/haven/recipients/cust.pub",
                                                          "/etc/haven/recipients/cust2.pub"], c
        assert "camera1" not in c, c
        # no secret anywhere on the partition
        for name, data in t.items():
            assert b"haven-identity-v1" not in data and b"haven-device-secret-v1" not in data, name
        # --source test adds the test sources
        p = provision(cfg, "--room", "Room 1", "--board", "sim", "--recipient", ws.path("cust.pub"),
                      "--source", "test")
        c = conf_of(open(os.path.join(cfg, "haven.conf")).read())
        assert c["camera1"] == "test" and c["microphone"] == "test", c
        assert c["board"] == "/usr/share/haven/boards/sim.board", c
        assert "recipient removed: cust2.pub" in p.stdout, p.stdout
        assert not os.path.exists(os.path.join(cfg, "recipients", "cust2.pub"))
    finally:
        ws.cleanup()


R.case("directory: haven.conf with the board's paths, recipients, README; no secret", directory)


def refusals():
    ws = Workspace()
    try:
        cfg = ws.path("cfg")
        os.makedirs(cfg)
        base = ["--room", "R", "--board", "rpi4"]
        p = provision(cfg, *base, "--recipient", ws.path("cust.key"), check=2)
        assert "SECRET identity" in p.stderr and ws.path("cust.key") in p.stderr, p.stderr
        with open(ws.path("bad.pub"), "w") as f:
            f.write("not a key\n")
        p = provision(cfg, *base, "--recipient", ws.path("cust.pub"), "--recipient", ws.path("bad.pub"), check=2)
        assert ws.path("bad.pub") in p.stderr, p.stderr
        p = provision(cfg, "--room", "R", "--board", "rpi3", "--recipient", ws.path("cust.pub"), check=2)
        assert "rpi3" in p.stderr, p.stderr
        p = provision(cfg, *base, check=2)
        assert "--recipient" in p.stderr, p.stderr
        p = provision(cfg, "--board", "rpi4", "--recipient", ws.path("cust.pub"), check=2)
        assert "--room" in p.stderr, p.stderr
        # what havend's own check refuses (a room too long for the header) is refused here too
        p = provision(cfg, "--room", "x" * 300, "--board", "rpi4", "--recipient", ws.path("cust.pub"), check=2)
        assert "room" in p.stderr and "check" in p.stderr, p.stderr
        assert os.listdir(cfg) == [], os.listdir(cfg)
        # a directory that is not a config partition
        with open(os.path.join(cfg, "thesis.odt"), "w") as f:
            f.write("x")
        p = provision(cfg, *base, "--recipient", ws.path("cust.pub"), check=2)
        assert "thesis.odt" in p.stderr and "--force" in p.stderr, p.stderr
        assert os.listdir(cfg) == ["thesis.odt"]
        provision(cfg, *base, "--recipient", ws.path("cust.pub"), "--force", check=0)
        p = provision(ws.path("nothing-here"), *base, "--recipient", ws.path("cust.pub"), check=2)
        assert "nothing-here" in p.stderr, p.stderr
    finally:
        ws.cleanup()


R.case("refusals: identity file, unparsable recipient, bad board/room, foreign directory; nothing written",
       refusals)


def reprovision():
    ws = Workspace()
    try:
        cfg = ws.path("cfg")
        os.makedirs(cfg)
        provision(cfg, "--room", "Room 1", "--board", "rpi4", "--recipient", ws.path("cust.pub"))
        # the board's first boot wrote this
        with open(os.path.join(cfg, "enrollment.conf"), "w") as f:
            f.write("[enrollment]\nformat=1\n")
        first = open(os.path.join(cfg, "haven.conf")).read()
        p = provision(cfg, "--room", "Room 2", "--board", "rpi5", "--recipient", ws.path("cust2.pub"))
        assert 'room changed from "Room 1" to "Room 2"' in p.stdout, p.stdout
        assert "board changed from rpi4 to rpi5" in p.stdout, p.stdout
        assert "recipient added: cust2.pub" in p.stdout and "recipient removed: cust.pub" in p.stdout, p.stdout
        assert "enrollment.conf kept" in p.stdout, p.stdout
        # every line reads as a sentence: brackets balanced (a stray ')' ended the room line), and no claim
        # that the unit runs --check-config at each start (it does not: README, "Deploying on a board")
        for line in p.stdout.splitlines():
            assert line.count("(") == line.count(")"), line
        assert "check-config at every start" not in p.stdout and "run havend --check-config there" in p.stdout, \
            p.stdout
        assert open(os.path.join(cfg, "enrollment.conf")).read() == "[enrollment]\nformat=1\n"
        assert open(os.path.join(cfg, "haven.conf.previous")).read() == first
        assert os.listdir(os.path.join(cfg, "recipients")) == ["cust2.pub"]
    finally:
        ws.cleanup()


R.case("re-provision: enrollment.conf kept, haven.conf.previous, changes reported", reprovision)


def make_image(path, label="HAVENCFG"):
    with open(path, "wb") as f:
        f.truncate(48 << 20)
    table = "label: gpt\nsize=8M, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B\nsize=24M, type=L\n"
    subprocess.run(["sfdisk", "-q", path], input=table, text=True, check=True, capture_output=True)
    # partition 2 at 8 MiB + 1 MiB: the config partition, as the board image has it after a boot partition
    out = subprocess.run(["sfdisk", "--json", path], capture_output=True, text=True, check=True).stdout
    import json
    parts = json.loads(out)["partitiontable"]["partitions"]
    subprocess.run(["mkfs.vfat", "-n", "BOOT", "--offset", str(parts[0]["start"]), path,
                    str(parts[0]["size"] // 2)], check=True, capture_output=True)
    subprocess.run(["mkfs.vfat", "-n", label, "--offset", str(parts[1]["start"]), path, str(parts[1]["size"] // 2)],
                   check=True, capture_output=True)
    return parts[1]["start"] * 512


def mread(img, off, name):
    p = subprocess.run(["mtype", "-i", f"{img}@@{off}", f"::/{name}"], capture_output=True, env=ENV)
    return p.stdout if p.returncode == 0 else None


def image_file():
    if not all(shutil.which(t) for t in ("sfdisk", "mkfs.vfat", "mcopy", "blkid")):
        raise AssertionError("sfdisk, mkfs.vfat (dosfstools), mtools and blkid are needed: tools/setup-deps.sh")
    ws = Workspace()
    try:
        img = ws.path("haven.img")
        off = make_image(img)
        p = provision(img, "--room", "Room 1", "--board", "sim", "--recipient", ws.path("cust.pub"))
        assert f"partition HAVENCFG at byte {off}" in p.stdout, p.stdout
        conf = mread(img, off, "haven.conf").decode()
        assert "room=Room 1" in conf and "/etc/haven/recipients/cust.pub" in conf, conf
        with open(ws.path("cust.pub"), "rb") as f:
            assert mread(img, off, "recipients/cust.pub") == f.read()
        assert b"HAVENCFG" in mread(img, off, "README.txt")
        # the first boot's enrollment file survives a re-provision
        with open(ws.path("e.conf"), "w") as f:
            f.write("enrolled\n")
        subprocess.run(["mcopy", "-i", f"{img}@@{off}", ws.path("e.conf"), "::/enrollment.conf"], check=True,
                       env=ENV)
        p = provision(img, "--room", "Room 2", "--board", "sim", "--recipient", ws.path("cust2.pub"))
        assert 'room changed from "Room 1" to "Room 2"' in p.stdout and "enrollment.conf kept" in p.stdout, p.stdout
        # what to do for a new enrollment file, with no shell on the board
        assert "delete enrollment.conf from this partition" in p.stdout, p.stdout
        assert "havend --write-enrollment" not in p.stdout, p.stdout
        assert mread(img, off, "enrollment.conf") == b"enrolled\n"
        assert b"room=Room 1" in mread(img, off, "haven.conf.previous")
        assert b"room=Room 2" in mread(img, off, "haven.conf")
        assert mread(img, off, "recipients/cust.pub") is None, "the removed recipient is still there"
        assert mread(img, off, "recipients/cust2.pub") is not None
        # the boot partition is untouched
        assert mread(img, 1 << 20, "haven.conf") is None
        # temporary directories cleaned up
        left = [d for d in os.listdir("/tmp") if d.startswith("haven-provision-")]
        assert not left, left
        # an image without HAVENCFG: refused, naming what it found
        img2 = ws.path("other.img")
        make_image(img2, label="DATA")
        p = provision(img2, "--room", "R", "--board", "sim", "--recipient", ws.path("cust.pub"), check=2)
        assert "no partition labelled HAVENCFG" in p.stderr and "DATA" in p.stderr, p.stderr
        # a file that is no image at all
        with open(ws.path("junk.img"), "wb") as f:
            f.write(b"\0" * 65536)
        p = provision(ws.path("junk.img"), "--room", "R", "--board", "sim", "--recipient", ws.path("cust.pub"),
                      check=2)
        assert "HAVENCFG" in p.stderr, p.stderr
        # a refusal leaves the image as it was
        before = open(img, "rb").read()
        provision(img, "--room", "R", "--board", "sim", "--recipient", ws.path("cust.key"), check=2)
        assert open(img, "rb").read() == before
    finally:
        ws.cleanup()


R.case("image file: the HAVENCFG partition found and written, re-provision keeps enrollment, refusals", image_file)

def block_device():
    ws = Workspace()
    loop = None
    try:
        img = ws.path("disk.img")
        off = make_image(img)
        p = subprocess.run(["losetup", "--find", "--show", img], capture_output=True, text=True)
        if p.returncode != 0:
            print(f"skip block device: losetup: {p.stderr.strip()} (needs root and loop devices)")
            return
        loop = p.stdout.strip()
        p = provision(loop, "--room", "Room 3", "--board", "rpi5", "--recipient", ws.path("cust.pub"))
        assert f"provisioned {loop} (partition HAVENCFG at byte {off})" in p.stdout, p.stdout
        subprocess.run(["losetup", "-d", loop], check=True)
        loop = None
        assert b"room=Room 3" in mread(img, off, "haven.conf")
    finally:
        if loop:
            subprocess.run(["losetup", "-d", loop])
        ws.cleanup()


R.case("block device (a loop device over an image): the HAVENCFG partition written", block_device)


def fat_names():
    """a recipient file name FAT cannot hold (attack10): refused before anything is
    written, never a partition whose haven.conf names a file it does not have"""
    if not all(shutil.which(t) for t in ("sfdisk", "mkfs.vfat", "mcopy", "blkid")):
        raise AssertionError("sfdisk, mkfs.vfat (dosfstools), mtools and blkid are needed: tools/setup-deps.sh")
    ws = Workspace()
    try:
        img = ws.path("haven.img")
        off = make_image(img)
        p = provision(img, "--room", "Room 1", "--board", "sim", "--recipient", ws.path("cust.pub"))
        before = mread(img, off, "haven.conf")
        cfg = ws.path("cfg")
        os.makedirs(cfg)
        for bad in ["cust:1.pub", "who?.pub", 'a"b.pub', "x<y>.pub", "p|q.pub", "back\\slash.pub", "new\nline.pub",
                    ".hidden.pub"]:
            shutil.copy(ws.path("cust.pub"), ws.path(bad))
            p = provision(img, "--room", "Room 2", "--board", "sim", "--recipient", ws.path(bad), check=2)
            assert "FAT" in p.stderr and "nothing was written" in p.stderr, (bad, p.stderr)
            assert "provisioned" not in p.stdout, (bad, p.stdout)
            assert mread(img, off, "haven.conf") == before, bad
            provision(cfg, "--room", "Room 2", "--board", "sim", "--recipient", ws.path(bad), check=2)
            assert os.listdir(cfg) == [], (bad, os.listdir(cfg))
        # what FAT does hold is still accepted: spaces, ';', non-ASCII letters
        shutil.copy(ws.path("cust.pub"), ws.path("Jan Nov\u00e1k; DS.pub"))
        provision(img, "--room", "Room 2", "--board", "sim", "--recipient", ws.path("Jan Nov\u00e1k; DS.pub"))
        assert "Room 2" in mread(img, off, "haven.conf").decode()
    finally:
        ws.cleanup()


R.case("recipient names FAT cannot hold are refused; nothing written (attack10)", fat_names)

R.finish()
