# SPDX-License-Identifier: GPL-2.0-or-later
"""haven flash (issue 10 section 3) against a file target and a loop device
(run as root): only the mapped blocks are written, every refusal happens
before anything is written, and a byte changed on the target between the
write and the read-back is caught and named. Loop devices and mounts are
released even when a case fails. Exits 77 (skipped) only when loop devices
are unavailable, after the file-target cases have run."""
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time

from vaulttest import HAVEN, Runner, run

import tempfile

R = Runner("flash")
TMP = tempfile.mkdtemp(prefix="haven-flash-", dir="/var/tmp")
LOG = os.path.join(TMP, "flash.log")
MiB = 1024 * 1024

if not shutil.which("bmaptool"):
    print("bmaptool is missing (package bmap-tools, tools/setup-deps.sh)")
    sys.exit(1)


def path(*p):
    return os.path.join(TMP, *p)


def make_image(name, size=8 * MiB, extents=((0, 3 * 4096), (1 * MiB + 4096, 300 * 1024),
                                              (5 * MiB, 64 * 1024), (8 * MiB - 1024, 1024))):
    """A sparse image with data at extents (offset, length), its bmap from
    bmaptool, its manifest and .sha256, as board/image/build-image.sh leaves them."""
    img = path(name)
    with open(img, "wb") as f:
        f.truncate(size)
        for i, (off, n) in enumerate(extents):
            f.seek(off)
            f.write(hashlib.shake_256(f"{name}{i}".encode()).digest(n))
    run("bmaptool", "-q", "create", "-o", img + ".bmap", img, check=0)
    digest = hashlib.sha256(open(img, "rb").read()).hexdigest()
    manifest = {"format": 1, "image": name, "sha256": digest, "size": size, "variant": "virt",
                "haven_version": "0.1.0", "built": "2026-11-29T00:00:00Z", "packages": []}
    with open(img + ".manifest.json", "w") as f:
        json.dump(manifest, f)
    with open(img + ".sha256", "w") as f:
        f.write(f"{digest}  {name}\n")
    return img


def flash(img, dev, *extra, env=None):
    e = dict(os.environ, **(env or {}))
    return run(HAVEN, "flash", "--log", LOG, *extra, img, dev, env=e)


def log_lines():
    if not os.path.exists(LOG):
        return []
    return [dict(kv.split("=", 1) for kv in shlex.split(l.split(" ", 1)[1]))
            for l in open(LOG).read().splitlines()]


def mapped_bytes(img):
    """What the bmap maps, from the bmaptool's own file (independent of haven)."""
    text = open(img + ".bmap").read()
    bs = int(re.search(r"<BlockSize>\s*(\d+)", text).group(1))
    size = int(re.search(r"<ImageSize>\s*(\d+)", text).group(1))
    total = 0
    for r in re.findall(r"<Range[^>]*>\s*([\d-]+)\s*</Range>", text):
        a, _, b = r.partition("-")
        first, last = int(a), int(b or a)
        total += min((last + 1) * bs, size) - first * bs
    return total


def reseal_bmap(bmap):
    """Recompute a 2.0 bmap's own checksum the way bmaptool does (the file
    with the checksum replaced by zeros): a consistent but lying bmap."""
    text = open(bmap).read()
    old = re.search(r"<BmapFileChecksum>\s*([0-9a-f]+)\s*<", text).group(1)
    text = text.replace(old, "0" * 64)
    new = hashlib.sha256(text.encode()).hexdigest()
    open(bmap, "w").write(text.replace("0" * 64, new, 1))


def same(a, b, length):
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while length > 0:
            n = min(length, MiB)
            if fa.read(n) != fb.read(n):
                return False
            length -= n
    return True


IMG = make_image("haven-virt-0.1.0.img")
SIZE = os.path.getsize(IMG)


def expect(p, status, *needles):
    out = p.stdout + p.stderr
    assert p.returncode == status, f"exit {p.returncode}, expected {status}: {out}"
    for n in needles:
        assert n in out, f"{n!r} not in: {out}"
    return p


# ---- file targets ----

def file_target():
    dev = path("card.img")
    before = len(log_lines())
    p = flash(IMG, dev)
    expect(p, 0, "identical")
    assert os.path.getsize(dev) == SIZE
    assert same(IMG, dev, SIZE)
    entry = log_lines()[before]
    assert entry["verdict"] == "ok", entry
    assert entry["sha256"] == json.load(open(IMG + ".manifest.json"))["sha256"]
    assert entry["device"] == dev and entry["image"] == IMG
    assert int(entry["written"]) == mapped_bytes(IMG) < SIZE, entry
    assert int(entry["size"]) == SIZE


def progress_on_tty_only():
    """no progress line when stderr is not a terminal; on a terminal one line, rewritten, cleared"""
    p = flash(IMG, path("quiet.img"))
    expect(p, 0, "identical")
    assert "\r" not in p.stderr and "%" not in p.stderr, repr(p.stderr)
    import pty
    master, slave = pty.openpty()
    q = subprocess.run([HAVEN, "flash", "--log", LOG, IMG, path("tty.img")],
                       stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL)
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
    assert q.returncode == 0, out
    text = out.decode()
    for phase in ("checking image", "writing", "reading back"):
        assert f"\r\033[K{phase} " in text, repr(text)
    assert "100%" in text and "\n" not in text.replace("\r\n", ""), repr(text)
    assert text.endswith("\r\033[K"), repr(text[-40:])  # cleared at the end


def file_target_truncated():
    """an existing larger file with old data becomes exactly the image (its holes zeros)"""
    dev = path("old.img")
    with open(dev, "wb") as f:
        f.write(b"\xa5" * (SIZE + 3 * MiB))
    expect(flash(IMG, dev), 0, "identical")
    assert os.path.getsize(dev) == SIZE and same(IMG, dev, SIZE)


def file_refusals():
    expect(flash(IMG, TMP), 3, "is a directory", "nothing was written")
    expect(flash(IMG, "/dev/null"), 3, "character device")
    expect(flash(IMG, "/dev/haven-no-such-card"), 3, "no such device")
    assert not os.path.exists("/dev/haven-no-such-card")
    expect(flash(IMG, IMG), 3, "is the image itself")
    assert log_lines()[-1]["verdict"] == "refused"


def file_target_tmpfs():
    """a file target on tmpfs (which refused O_DIRECT before Linux 6.6: then the read-back
    goes through the dropped page cache and says so; this kernel may accept it)"""
    mnt = path("tmpfs")
    os.makedirs(mnt, exist_ok=True)
    if run("mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", mnt).returncode != 0:
        print("  (cannot mount a tmpfs here: case not run)")
        return
    try:
        dev = os.path.join(mnt, "card.img")
        p = flash(IMG, dev)
        expect(p, 0, "identical")
        print("  (tmpfs read-back: %s)" % ("page cache, O_DIRECT refused" if "refuses O_DIRECT" in p.stdout
                                            else "O_DIRECT"))
        assert same(IMG, dev, SIZE)
        at = 5 * MiB + 99
        expect(flash(IMG, dev, env={"HAVEN_FLASH_TEST_CORRUPT_AT": str(at)}), 4, f"byte offset {at} ")
    finally:
        run("umount", mnt)


def corrupt_file_target():
    dev = path("corrupt.img")
    at = 1 * MiB + 4096 + 1234
    p = flash(IMG, dev, env={"HAVEN_FLASH_TEST_CORRUPT_AT": str(at)})
    expect(p, 4, f"byte offset {at} ", "NOT A GOOD COPY")
    assert log_lines()[-1]["verdict"] == "verify-failed"


def interrupted():
    """Ctrl-C while checking writes nothing (exit 2); while writing or reading back the card
    is NOT a good copy (exit 4); every case is logged with its verdict."""
    dev = path("interrupted-check.img")
    p = flash(IMG, dev, env={"HAVEN_FLASH_TEST_INTERRUPT": "check"})
    expect(p, 2, "interrupted while checking the image", "nothing was written")
    assert not os.path.exists(dev) or os.path.getsize(dev) == 0
    assert log_lines()[-1]["verdict"] == "interrupted"
    for phase, what, verdict in (("write", "writing", "interrupted-write"),
                                 ("verify", "reading back", "interrupted-verify")):
        dev = path(f"interrupted-{phase}.img")
        p = flash(IMG, dev, env={"HAVEN_FLASH_TEST_INTERRUPT": phase})
        expect(p, 4, f"interrupted while {what}", "NOT A GOOD COPY")
        assert log_lines()[-1]["verdict"] == verdict, log_lines()[-1]


# ---- the image, its bmap and its manifest ----

def copy_image(name):
    dst = path(name)
    os.makedirs(dst, exist_ok=True)
    for suffix in ("", ".bmap", ".manifest.json", ".sha256"):
        shutil.copy(IMG + suffix, os.path.join(dst, os.path.basename(IMG) + suffix))
    return os.path.join(dst, os.path.basename(IMG))


def sha_mismatch():
    img = copy_image("shamismatch")
    with open(img, "r+b") as f:  # new data in a hole, with a bmap that maps it: only the
        f.seek(2 * MiB)          # manifest's SHA-256 tells this is not the image it describes
        f.write(b"\x01")
    run("bmaptool", "-q", "create", "-o", img + ".bmap", img, check=0)
    dev = path("never1.img")
    expect(flash(img, dev), 1, "SHA-256 is", "its manifest says", "nothing was written")
    assert not os.path.exists(dev)
    assert log_lines()[-1]["verdict"] == "image-rejected"


def sha256_file_only():
    img = copy_image("shaonly")
    os.unlink(img + ".manifest.json")
    expect(flash(img, path("shaonly.img")), 0, "matches the .sha256")
    with open(img + ".sha256", "w") as f:
        f.write("0" * 64 + "  " + os.path.basename(img) + "\n")
    expect(flash(img, path("shaonly2.img")), 1, "SHA-256 is")
    os.unlink(img + ".sha256")
    p = expect(flash(img, path("shaonly3.img")), 1, "manifest.json nor",
               "nothing was written to " + path("shaonly3.img"))
    assert "(null)" not in p.stderr, p.stderr
    assert log_lines()[-1]["verdict"] == "image-rejected"
    with open(img + ".manifest.json", "w") as f:
        f.write('{"sha256": "' + "0" * 64 + '"}')
    expect(flash(img, path("shaonly4.img")), 1, "not an image manifest of format 1",
           '"format": 1, "image", "sha256" and "size"')


def manifest_disagrees():
    img = copy_image("disagree")
    with open(img + ".sha256", "w") as f:
        f.write("1" * 64 + "  " + os.path.basename(img) + "\n")
    expect(flash(img, path("never2.img")), 1, "disagree")


def tampered_bmap():
    """a range moved by hand: bmaptool's own file checksum catches it"""
    img = copy_image("tampered")
    text = open(img + ".bmap").read()
    m = re.findall(r"> (\d+)-(\d+) </Range>", text)[0]
    open(img + ".bmap", "w").write(text.replace(f"> {m[0]}-{m[1]} <", f"> {m[0]}-{int(m[1]) + 1} <", 1)
                                   .replace(re.search(r"<MappedBlocksCount>\s*\d+", text).group(0),
                                            "<MappedBlocksCount> " + str(int(re.search(
                                                r"<MappedBlocksCount>\s*(\d+)", text).group(1)) + 1)))
    dev = path("never3.img")
    expect(flash(img, dev), 1, "bmap file's checksum does not match")
    assert not os.path.exists(dev)


def bad_bmap_checksum():
    img = copy_image("badsum")
    text = open(img + ".bmap").read()
    old = re.search(r"<BmapFileChecksum>\s*([0-9a-f]+)", text).group(1)
    new = ("1" if old[0] != "1" else "2") + old[1:]
    open(img + ".bmap", "w").write(text.replace(old, new))
    expect(flash(img, path("never4.img")), 1, "bmap file's checksum does not match")


def lying_bmap():
    """a bmap that drops a range, resealed: the dropped data is caught before writing"""
    img = copy_image("lying")
    text = open(img + ".bmap").read()
    ranges = re.findall(r"\s*<Range[^>]*>\s*([\d-]+)\s*</Range>", text)
    line = re.search(r"\n\s*<Range[^>]*>\s*" + re.escape(ranges[1]) + r"\s*</Range>", text).group(0)
    a, _, b = ranges[1].partition("-")
    dropped = int(b or a) - int(a) + 1
    count = int(re.search(r"<MappedBlocksCount>\s*(\d+)", text).group(1))
    text = text.replace(line, "").replace(
        re.search(r"<MappedBlocksCount>\s*\d+", text).group(0), f"<MappedBlocksCount> {count - dropped}")
    open(img + ".bmap", "w").write(text)
    reseal_bmap(img + ".bmap")
    dev = path("never5.img")
    expect(flash(img, dev), 1, "holds data but the bmap maps no block")
    assert not os.path.exists(dev)


def huge_bmap():
    """attack10: a resealed bmap describing a 512 TiB image, all of it mapped, beside
    a small image with only its .sha256: refused before anything is planned from
    the bmap (a chunk per 4 MiB of it was ~6 GiB of memory), nothing written"""
    img = copy_image("huge")
    os.unlink(img + ".manifest.json")
    text = open(img + ".bmap").read()
    bs = int(re.search(r"<BlockSize>\s*(\d+)", text).group(1))
    size = 1 << 49
    blocks = size // bs
    ranges = re.findall(r"\n\s*<Range[^>]*>\s*[\d-]+\s*</Range>", text)
    first = re.search(r'chksum="([0-9a-f]+)"', ranges[0]).group(1)
    for r in ranges[1:]:
        text = text.replace(r, "")
    text = text.replace(ranges[0], f'\n        <Range chksum="{first}"> 0-{blocks - 1} </Range>')
    for tag, value in (("ImageSize", size), ("BlocksCount", blocks), ("MappedBlocksCount", blocks)):
        text = re.sub(rf"<{tag}>\s*\d+\s*</{tag}>", f"<{tag}> {value} </{tag}>", text)
    open(img + ".bmap", "w").write(text)
    reseal_bmap(img + ".bmap")
    dev = path("never9.img")
    expect(flash(img, dev), 1, f"bmap describes an image of {size} bytes")
    assert not os.path.exists(dev)

def range_checksum_wrong():
    """a resealed bmap whose range checksum is another's: caught before writing"""
    img = copy_image("rangesum")
    text = open(img + ".bmap").read()
    sums = re.findall(r'chksum="([0-9a-f]+)"', text)
    open(img + ".bmap", "w").write(text.replace(sums[1], sums[0]))
    reseal_bmap(img + ".bmap")
    dev = path("never8.img")
    expect(flash(img, dev), 1, "do not match their checksum in the bmap")
    assert not os.path.exists(dev)


def bmap_v1_4():
    """the same map in format 1.4 (sha1 checksums, BmapFileSHA1), as older bmaptool wrote it"""
    img = copy_image("v14")
    text = open(img + ".bmap").read()
    data = open(img, "rb").read()
    bs = int(re.search(r"<BlockSize>\s*(\d+)", text).group(1))

    def sha1_range(m):
        a, _, b = m.group(2).partition("-")
        part = data[int(a) * bs:min((int(b or a) + 1) * bs, len(data))]
        return f'<Range sha1="{hashlib.sha1(part).hexdigest()}"> {m.group(2)} </Range>'
    text = re.sub(r'<Range chksum="([0-9a-f]+)">\s*([\d-]+)\s*</Range>', sha1_range, text)
    text = re.sub(r"\s*<ChecksumType>[^<]*</ChecksumType>", "", text)
    text = re.sub(r"<BmapFileChecksum>\s*[0-9a-f]+\s*</BmapFileChecksum>",
                  "<BmapFileSHA1> " + "0" * 40 + " </BmapFileSHA1>", text)
    text = text.replace('version="2.0"', 'version="1.4"')
    text = text.replace("0" * 40, hashlib.sha1(text.encode()).hexdigest(), 1)
    open(img + ".bmap", "w").write(text)
    dev = path("v14.img")
    expect(flash(img, dev), 0, "bmap 1.4", "identical")
    assert same(img, dev, SIZE)


def malformed_bmap():
    img = copy_image("malformed")
    text = open(img + ".bmap").read()
    open(img + ".bmap", "w").write(text.replace("</BlockMap>", ""))
    expect(flash(img, path("never6.img")), 1, "not a well-formed bmap")
    os.unlink(img + ".bmap")
    before = len(log_lines())
    p = expect(flash(img, path("never7.img")), 1, ".bmap is missing", "bmaptool create",
               "nothing was written to " + path("never7.img"))
    assert "(null)" not in p.stderr, p.stderr
    assert not os.path.exists(path("never7.img"))
    assert len(log_lines()) == before + 1 and log_lines()[-1]["verdict"] == "image-rejected"
    assert log_lines()[-1]["device"] == path("never7.img"), log_lines()[-1]
    p = expect(flash(path("no-such.img"), path("never8.img")), 1, "no-such.img: no such image file",
               "nothing was written to " + path("never8.img"))


for name, fn in [("file target: mapped blocks written, read back, logged", file_target),
                 ("progress: only on a terminal, one line, cleared", progress_on_tty_only),
                 ("file target: an old larger file becomes exactly the image", file_target_truncated),
                 ("refused: directory, character device, missing /dev node, the image itself", file_refusals),
                 ("file target: a byte flipped before the read-back is named", corrupt_file_target),
                 ("interrupted (a signal): logged; nothing written, or NOT a good copy", interrupted),
                 ("file target on tmpfs: written and read back", file_target_tmpfs),
                 ("refused: image SHA-256 differs from its manifest", sha_mismatch),
                 (".sha256 alone is enough; a wrong one or none refused", sha256_file_only),
                 ("refused: manifest and .sha256 disagree", manifest_disagrees),
                 ("refused: hand-edited bmap (file checksum)", tampered_bmap),
                 ("refused: bad bmap file checksum", bad_bmap_checksum),
                 ("refused: resealed bmap that drops a range", lying_bmap),
                 ("refused: resealed bmap with another range's checksum", range_checksum_wrong),
                 ("a format 1.4 bmap (sha1) flashes too", bmap_v1_4),
                 ("refused: malformed or missing bmap", malformed_bmap),
                 ("refused: a resealed bmap of a huge image, before planning from it (attack10)", huge_bmap)]:
    R.case(name, fn)

# ---- loop devices ----

LOOPS = []
MOUNTS = []
SWAPS = []


def losetup(backing, *extra):
    p = run("losetup", "-f", "--show", *extra, backing)
    if p.returncode != 0:
        return None
    LOOPS.append(p.stdout.strip())
    return LOOPS[-1]


def backing(name, size):
    b = path(name)
    with open(b, "wb") as f:
        f.write(b"\x5a" * size)  # old data everywhere: unmapped blocks keep it
    return b


def loop_refused_then_forced():
    dev = losetup(backing("loop-a", 16 * MiB))
    expect(flash(IMG, dev), 3, "not a removable disk", "--force", "nothing was written")
    with open(dev, "rb") as f:
        assert f.read(4096) == b"\x5a" * 4096  # untouched
    before = len(log_lines())
    expect(flash(IMG, dev, "--force"), 0, "identical")
    entry = log_lines()[before]
    assert entry["verdict"] == "ok" and entry["device"] == dev
    assert entry["model"].startswith("loop (") and int(entry["size"]) == 16 * MiB, entry
    # the mapped ranges are the image's; elsewhere the old data stays (bmap semantics)
    text = open(IMG + ".bmap").read()
    with open(dev, "rb") as d, open(IMG, "rb") as i:
        for r in re.findall(r"<Range[^>]*>\s*([\d-]+)\s*</Range>", text):
            a, _, b = r.partition("-")
            off, end = int(a) * 4096, min((int(b or a) + 1) * 4096, SIZE)
            d.seek(off), i.seek(off)
            assert d.read(end - off) == i.read(end - off), r
        d.seek(2 * MiB + 7)
        assert d.read(1) == b"\x5a"


def loop_hostile_name():
    """The model shown and logged comes from sysfs (here the loop device's
    backing file name): its control bytes never reach the terminal or the log."""
    dev = losetup(backing("loop-\x1b]0;owned\x07\x1b[2J-\n-é", 16 * MiB))
    p = flash(IMG, dev, "--force")
    expect(p, 0, "identical")
    for text in (p.stdout, p.stderr, open(LOG).read()):
        assert "\x1b" not in text and "\x07" not in text, repr(text[-400:])
    entry = log_lines()[-1]
    assert entry["model"].startswith("loop (") and "loop-?]0;owned??[2J-?-??" in entry["model"], entry


def loop_too_small():
    dev = losetup(backing("loop-small", 4 * MiB))
    expect(flash(IMG, dev, "--force"), 3, "the image needs")


def loop_partition_mounted():
    b = backing("loop-part", 16 * MiB)
    run("sfdisk", "-q", b, input="label: dos\n,8M,c\n", check=0)
    dev = losetup(b, "-P")
    part = dev + "p1"
    if not os.path.exists(part):
        run("partx", "-a", dev)
    assert os.path.exists(part), f"{part} did not appear"
    run("mkfs.ext4", "-q", part, check=0)
    mnt = path("mnt")
    os.makedirs(mnt, exist_ok=True)
    run("mount", part, mnt, check=0)
    MOUNTS.append(mnt)
    expect(flash(IMG, dev, "--force"), 3, f"{part} is mounted on {mnt}", "nothing was written")
    expect(flash(IMG, part, "--force"), 3, "is mounted")
    run("umount", mnt, check=0)
    MOUNTS.remove(mnt)
    expect(flash(IMG, part), 3, "is a partition")


def loop_held():
    """a loop device stacked on the target holds it"""
    dev = losetup(backing("loop-held", 16 * MiB))
    upper = losetup(dev)
    assert upper
    expect(flash(IMG, dev, "--force"), 3, f"backing device of {upper}")


def loop_swap():
    dev = losetup(backing("loop-swap", 16 * MiB))
    run("mkswap", "-q", dev, check=0)
    if run("swapon", dev).returncode != 0:
        print("  (swapon refused here: swap case not run)")
        return
    SWAPS.append(dev)
    expect(flash(IMG, dev, "--force"), 3, "in use as swap", "nothing was written")
    run("swapoff", dev, check=0)
    SWAPS.remove(dev)


def loop_corrupted_write():
    dev = losetup(backing("loop-bad", 16 * MiB))
    at = 5 * MiB + 777
    p = flash(IMG, dev, "--force", env={"HAVEN_FLASH_TEST_CORRUPT_AT": str(at)})
    expect(p, 4, f"read-back differs from the image at byte offset {at} ", "NOT A GOOD COPY")
    assert log_lines()[-1]["verdict"] == "verify-failed"


def loop_target_changed():
    """attack10: the device path names another disk by the time it is opened
    (a card replugged, a udev name or symlink pointed elsewhere while the
    image is checked): refused, neither disk written. The flash is stopped
    while it hashes the image (the image open, the target not yet), the link
    pointed at another disk, and the flash resumed."""
    big = make_image("big.img", size=48 * MiB, extents=((0, 4096), (40 * MiB, 4 * MiB)))
    card = losetup(backing("loop-card", 48 * MiB))
    other = losetup(backing("loop-other", 48 * MiB))
    link = path("card-link")
    os.symlink(card, link)
    e = dict(os.environ)
    p = subprocess.Popen([HAVEN, "flash", "--log", LOG, "--force", big, link], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=e)
    fds = f"/proc/{p.pid}/fd"

    def open_files():
        out = set()
        for fd in os.listdir(fds):
            try:
                out.add(os.readlink(os.path.join(fds, fd)))
            except OSError:
                pass
        return out
    try:
        while p.poll() is None:   # no hook in haven flash: watch its open files
            try:
                if big in open_files():
                    break
            except FileNotFoundError:
                break
            time.sleep(0.0005)
        os.kill(p.pid, signal.SIGSTOP)
        files = open_files()
        assert big in files and card not in files and other not in files, f"not stopped in the check: {files}"
        tmp = path("card-link.new")
        os.symlink(other, tmp)
        os.replace(tmp, link)
    finally:
        os.kill(p.pid, signal.SIGCONT)
    out, err = p.communicate(timeout=300)
    assert p.returncode == 3, (p.returncode, out, err)
    assert "now names another device" in err and "nothing was written" in err, err
    for dev in (card, other):
        with open(dev, "rb") as f:
            f.seek(40 * MiB)
            assert f.read(4 * MiB) == b"\x5a" * (4 * MiB), f"{dev} was written"
    assert log_lines()[-1]["verdict"] == "refused", log_lines()[-1]

probe = losetup(backing("probe", MiB))
try:
    if probe is None:
        print("SKIP loop devices: losetup cannot attach a loop device here (no /dev/loop-control?)")
    else:
        for name, fn in [("loop: refused without --force, written with it", loop_refused_then_forced),
                         ("loop: refused when smaller than the image", loop_too_small),
                         ("loop: control bytes in what sysfs says are masked (attack10)", loop_hostile_name),
                         ("loop: refused while a partition is mounted; a partition refused", loop_partition_mounted),
                         ("loop: refused while another loop device holds it", loop_held),
                         ("loop: refused while it is active swap", loop_swap),
                         ("loop: a corrupted write is caught by the O_DIRECT read-back", loop_corrupted_write),
                         ("loop: the path names another disk when opened: refused (attack10)",
                          loop_target_changed)]:
            R.case(name, fn)
finally:
    for sw in SWAPS:
        run("swapoff", sw)
    for m in MOUNTS:
        run("umount", m)
    for l in reversed(LOOPS):
        run("losetup", "-d", l)
    shutil.rmtree(TMP, ignore_errors=True)

if probe is None:
    print(f"flash: {R.passed} passed, {R.failed} failed; loop cases skipped")
    sys.exit(1 if R.failed else 77)
R.finish()
