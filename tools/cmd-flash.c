// SPDX-License-Identifier: GPL-2.0-or-later
/* haven flash: write a board image to a card, read it back, log it. */
#include "bmap.h"
#include "cli.h"
#include "flash.h"
#include "flash-target.h"

#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Exit statuses of `haven flash` (also in --help and README). */
enum {
  FLASH_EXIT_OK       = 0, /* written and read back identical */
  FLASH_EXIT_IMAGE    = 1, /* image, bmap or manifest missing, malformed or not matching */
  FLASH_EXIT_USAGE    = 2, /* bad arguments, unreadable files */
  FLASH_EXIT_REFUSED  = 3, /* the target is unsafe or unsuitable; nothing written */
  FLASH_EXIT_BAD_COPY = 4, /* writing or the read-back failed: the target is NOT a good copy */
};

typedef struct {
  gboolean     tty;
  HvFlashPhase phase;
  gint64       phase_start;
  gint64       last_draw;
  gboolean     drawn;
  const char  *interrupt_in;   /* HAVEN_FLASH_TEST_INTERRUPT: check, write or verify */
  gboolean     interrupt_sent;
} Progress;

/* Ctrl-C, a closed terminal or a kill: finish the chunk in hand, then stop,
 * say what state the card is in, and log it. */
static volatile sig_atomic_t stop_requested;

static void
on_stop_signal(int sig)
{
  (void) sig;
  stop_requested = 1;
}

static void
catch_stop_signals(void)
{
  struct sigaction sa = { .sa_handler = on_stop_signal };
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
}

static void
progress_clear(Progress *p)
{
  if (p->drawn)
    fputs("\r\033[K", stderr);
  p->drawn = FALSE;
}

static void
on_progress(HvFlashPhase phase, guint64 done, guint64 total, gpointer user_data)
{
  Progress *p = user_data;
  /* test-only: a signal arrives in the middle of this phase, as a Ctrl-C would */
  static const char *const hook_names[] = { "check", "write", "verify" };
  if (p->interrupt_in && g_str_equal(p->interrupt_in, hook_names[phase]) && !p->interrupt_sent) {
    p->interrupt_sent = TRUE;
    raise(SIGINT);
  }
  gint64 now = g_get_monotonic_time();
  if (phase != p->phase || !p->phase_start) {
    p->phase = phase;
    p->phase_start = now;
    p->last_draw = 0;
  }
  if (!p->tty || (now - p->last_draw < G_USEC_PER_SEC / 10 && done < total))
    return;
  p->last_draw = now;
  static const char *const names[] = { "checking image", "writing", "reading back" };
  double secs = (double)(now - p->phase_start) / G_USEC_PER_SEC;
  double rate = secs > 0 ? (double)done / secs : 0;
  guint64 eta = rate > 0 ? (guint64)((double)(total - done) / rate) : 0;
  double percent = total ? 100.0 * (double)done / (double)total : 100.0;
  if (secs < 0.5) /* too early for a rate */
    fprintf(stderr, "\r\033[K%s %3.0f%%", names[phase], percent);
  else
    fprintf(stderr, "\r\033[K%s %3.0f%%  %.1f MB/s  ETA %" G_GUINT64_FORMAT ":%02" G_GUINT64_FORMAT,
            names[phase], percent, rate / 1e6, eta / 60, eta % 60);
  fflush(stderr);
  p->drawn = TRUE;
}

static char *
default_log_path(void)
{
  if (geteuid() == 0)
    return g_strdup("/var/log/haven-flash.log");
  return g_build_filename(g_get_user_state_dir(), "haven", "flash.log", NULL);
}

static char *
quoted(const char *s)
{
  g_autofree char *esc = g_strescape(s ? s : "-", NULL);
  return g_strdup_printf("\"%s\"", esc);
}

typedef struct {
  const char    *log_path;
  const char    *image;
  const char    *sha256;
  const char    *device;
  HvFlashTarget *target;
  HvFlash       *flash;
  guint64        image_size;
} FlashLog;

/* A disk's size; a file target's is the image's once written. */
static guint64
target_size(const FlashLog *l)
{
  if (!l->target)
    return 0;
  if (!hv_flash_target_is_block_device(l->target) && l->flash)
    return l->image_size;
  return hv_flash_target_get_size(l->target);
}

/* One line per attempt, appended with a single write. */
static void
log_line(const FlashLog *l, const char *verdict, const char *reason)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc();
  g_autofree char *when = g_date_time_format(now, "%FT%TZ");
  g_autofree char *image = quoted(l->image), *device = quoted(l->device);
  g_autofree char *model = quoted(l->target ? hv_flash_target_get_model(l->target) : NULL);
  g_autofree char *serial = quoted(l->target ? hv_flash_target_get_serial(l->target) : NULL);
  g_autofree char *why = quoted(reason ? reason : "");
  guint64 written = l->flash ? hv_flash_get_bytes_written(l->flash) : 0;
  double ws = l->flash ? hv_flash_get_write_seconds(l->flash) : 0;
  double vs = l->flash ? hv_flash_get_verify_seconds(l->flash) : 0;
  g_autofree char *line = g_strdup_printf(
    "%s verdict=%s image=%s sha256=%s device=%s model=%s serial=%s size=%" G_GUINT64_FORMAT
    " written=%" G_GUINT64_FORMAT " write_mbps=%.1f verify_mbps=%.1f reason=%s\n",
    when, verdict, image, l->sha256 ? l->sha256 : "-", device, model, serial,
    target_size(l), written,
    ws > 0 ? (double)written / ws / 1e6 : 0.0, vs > 0 ? (double)written / vs / 1e6 : 0.0, why);
  g_autofree char *dir = g_path_get_dirname(l->log_path);
  (void)g_mkdir_with_parents(dir, 0700);
  int fd = open(l->log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  gssize len = (gssize)strlen(line);
  if (fd < 0 || write(fd, line, (size_t)len) != len) {
    int e = errno;
    hv_cli_error("flash", "warning: cannot append to the flash log %s: %s", l->log_path,
                 g_strerror(e));
  }
  if (fd >= 0)
    close(fd);
}

/* Tests only: flip one byte of the target between the write and the
 * read-back, as a faulty card would. */
static void
test_corrupt(const char *device, const char *at)
{
  guint64 off = 0;
  if (!g_ascii_string_to_unsigned(at, 10, 0, G_MAXINT64, &off, NULL)) {
    hv_cli_error("flash", "HAVEN_FLASH_TEST_CORRUPT_AT: not an offset: %s", at);
    return;
  }
  int fd = open(device, O_RDWR | O_CLOEXEC);
  guchar b = 0;
  gboolean ok = fd >= 0 && pread(fd, &b, 1, (off_t)off) == 1;
  b ^= 0xff;
  ok = ok && pwrite(fd, &b, 1, (off_t)off) == 1 && fsync(fd) == 0;
  if (fd >= 0)
    close(fd);
  hv_cli_error("flash", "test hook: %s byte at offset %" G_GUINT64_FORMAT " of %s",
               ok ? "flipped" : "FAILED to flip", off, device);
}

static int
fail(const FlashLog *l, const char *verdict, int status, const GError *err)
{
  hv_cli_error("flash", "%s", err->message);
  if (status == FLASH_EXIT_BAD_COPY)
    hv_cli_error("flash", "%s IS NOT A GOOD COPY OF THE IMAGE: do not use it; flash it again "
                 "or replace the card", l->device);
  else if (status == FLASH_EXIT_REFUSED || status == FLASH_EXIT_IMAGE || g_str_equal(verdict, "interrupted"))
    hv_cli_error("flash", "nothing was written to %s", l->device);
  if (l->device)
    log_line(l, verdict, err->message);
  return status;
}

int
hv_cmd_flash(int argc, char **argv)
{
  gboolean force = FALSE, buffered = FALSE;
  g_autofree char *log_file = NULL;
  GOptionEntry entries[] = {
    { "force", 0, 0, G_OPTION_ARG_NONE, &force,
      "Write to a disk that is not removable (or to a partition)", NULL },
    { "log", 0, 0, G_OPTION_ARG_FILENAME, &log_file,
      "Append the flash log line here (default /var/log/haven-flash.log as root, else "
      "$XDG_STATE_HOME/haven/flash.log)", "FILE" },
    { "buffered", 0, 0, G_OPTION_ARG_NONE, &buffered,
      "Write a disk through the page cache instead of O_DIRECT", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new("IMAGE DEVICE - write a board image to a card");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_option_context_set_description(ctx,
    "Reads IMAGE.bmap (bmaptool format) and IMAGE.manifest.json or IMAGE.sha256 beside\n"
    "IMAGE. Checks the whole image against its SHA-256 and the bmap before writing\n"
    "anything, writes only the mapped blocks, syncs, then reads every written block back\n"
    "from DEVICE with O_DIRECT and compares. DEVICE is a whole removable disk (an SD card\n"
    "or a USB card reader) or a regular file (created, or truncated to the image size).\n"
    "Refused: a mounted or swap device (or partition), one held by device-mapper/RAID/loop,\n"
    "a fixed disk or a partition (unless --force), a device smaller than the image, a\n"
    "directory or character device. Each attempt appends one line to the flash log.\n"
    "\n"
    "Exit status: 0 written and read back identical; 1 the image, its bmap or its\n"
    "manifest is missing, malformed or does not match (nothing written); 2 usage or\n"
    "I/O error before writing, or interrupted (Ctrl-C, SIGTERM, SIGHUP) while checking\n"
    "the image (nothing written); 3 the target was refused (nothing written); 4 writing\n"
    "or the read-back failed or was interrupted: the target is NOT a good copy.");
  if (!hv_cli_parse(ctx, &argc, &argv))
    return FLASH_EXIT_USAGE;
  if (argc != 3) {
    hv_cli_error("flash", "expected IMAGE DEVICE (see --help)");
    return FLASH_EXIT_USAGE;
  }
  const char *image = argv[1];
  const char *device = argv[2];
  g_autofree char *default_log = default_log_path();
  FlashLog l = { .log_path = log_file ? log_file : default_log, .image = image, .device = device };
  g_autoptr(GError) err = NULL;

  g_autofree char *bmap_path = g_strconcat(image, ".bmap", NULL);
  if (!g_file_test(image, G_FILE_TEST_EXISTS)) {
    g_set_error(&err, HV_FLASH_ERROR, HV_FLASH_ERROR_MANIFEST, "%s: no such image file", image);
    return fail(&l, "image-rejected", FLASH_EXIT_IMAGE, err);
  }
  if (!g_file_test(bmap_path, G_FILE_TEST_EXISTS)) {
    g_set_error(&err, HV_FLASH_ERROR, HV_FLASH_ERROR_MANIFEST,
                "%s is missing: the image's block map must be beside it (it comes with a released "
                "image; for an image you made, 'bmaptool create -o %s %s')", bmap_path, bmap_path, image);
    return fail(&l, "image-rejected", FLASH_EXIT_IMAGE, err);
  }
  g_autoptr(HvBmap) bmap = hv_bmap_load(bmap_path, &err);
  if (!bmap)
    return fail(&l, "image-rejected",
                g_error_matches(err, HV_BMAP_ERROR, HV_BMAP_ERROR_IO) ? FLASH_EXIT_USAGE
                                                                      : FLASH_EXIT_IMAGE, err);
  guint64 manifest_size = 0;
  g_autofree char *source = NULL;
  g_autofree char *sha256 = hv_flash_read_expected_digest(image, &manifest_size, &source, &err);
  if (!sha256)
    return fail(&l, "image-rejected", FLASH_EXIT_IMAGE, err);
  l.sha256 = sha256;
  if (manifest_size != G_MAXUINT64 && manifest_size != hv_bmap_get_image_size(bmap)) {
    g_set_error(&err, HV_FLASH_ERROR, HV_FLASH_ERROR_MANIFEST,
                "the manifest gives the image %" G_GUINT64_FORMAT " bytes, its bmap %"
                G_GUINT64_FORMAT, manifest_size, hv_bmap_get_image_size(bmap));
    return fail(&l, "image-rejected", FLASH_EXIT_IMAGE, err);
  }

  /* the image is the size its bmap describes before anything is planned from
   * the bmap: a bmap claiming a huge image (its checksum is its own) would
   * otherwise size the write plan (a chunk per 4 MiB) and exhaust memory */
  struct stat ist;
  if (stat(image, &ist) != 0) {
    int e = errno;
    g_set_error(&err, HV_FLASH_ERROR, HV_FLASH_ERROR_IO, "%s: %s", image, g_strerror(e));
    return fail(&l, "image-rejected", FLASH_EXIT_USAGE, err);
  }
  if (!S_ISREG(ist.st_mode) || (guint64) ist.st_size != hv_bmap_get_image_size(bmap)) {
    g_set_error(&err, HV_FLASH_ERROR, HV_FLASH_ERROR_IMAGE,
                "%s: %s, but its bmap describes an image of %" G_GUINT64_FORMAT " bytes: not this image's bmap",
                image, S_ISREG(ist.st_mode) ? "size differs" : "not a regular file", hv_bmap_get_image_size(bmap));
    return fail(&l, "image-rejected", FLASH_EXIT_IMAGE, err);
  }

  g_autoptr(HvFlashTarget) target = hv_flash_target_inspect(device, &err);
  if (!target)
    return fail(&l, "refused",
                g_error_matches(err, HV_FLASH_TARGET_ERROR, HV_FLASH_TARGET_ERROR_IO)
                  ? FLASH_EXIT_USAGE : FLASH_EXIT_REFUSED, err);
  l.target = target;
  if (!hv_flash_target_check(target, image, hv_bmap_get_image_size(bmap), force, &err))
    return fail(&l, "refused", FLASH_EXIT_REFUSED, err);

  g_autoptr(HvFlash) flash = hv_flash_new(image, bmap);
  Progress progress = { .tty = isatty(STDERR_FILENO), .interrupt_in = g_getenv("HAVEN_FLASH_TEST_INTERRUPT") };
  hv_flash_set_progress(flash, on_progress, &progress);
  catch_stop_signals();
  hv_flash_set_stop_flag(flash, &stop_requested);
  hv_flash_set_buffered(flash, buffered);
  gboolean ok = hv_flash_check_image(flash, sha256, &err);
  progress_clear(&progress);
  if (!ok && g_error_matches(err, HV_FLASH_ERROR, HV_FLASH_ERROR_INTERRUPTED))
    return fail(&l, "interrupted", FLASH_EXIT_USAGE, err);
  if (!ok)
    return fail(&l, "image-rejected",
                g_error_matches(err, HV_FLASH_ERROR, HV_FLASH_ERROR_IO) ? FLASH_EXIT_USAGE
                                                                        : FLASH_EXIT_IMAGE, err);
  g_print("image %s: SHA-256 matches the %s, bmap %s: %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
          " bytes mapped (checked in %.1f s)\n", image, source, hv_bmap_get_version(bmap),
          hv_bmap_get_mapped_bytes(bmap), hv_bmap_get_image_size(bmap),
          hv_flash_get_check_seconds(flash));
  l.flash = flash;
  l.image_size = hv_bmap_get_image_size(bmap);
  ok = hv_flash_write(flash, target, &err);
  progress_clear(&progress);
  if (!ok && g_error_matches(err, HV_FLASH_ERROR, HV_FLASH_ERROR_INTERRUPTED))
    return fail(&l, "interrupted-write", FLASH_EXIT_BAD_COPY, err);
  if (!ok && g_error_matches(err, HV_FLASH_TARGET_ERROR, HV_FLASH_TARGET_ERROR_CHANGED))
    return fail(&l, "refused", FLASH_EXIT_REFUSED, err);   /* nothing was written */
  if (!ok)
    return fail(&l, "write-failed",
                g_error_matches(err, HV_FLASH_TARGET_ERROR, HV_FLASH_TARGET_ERROR_BUSY)
                  ? FLASH_EXIT_REFUSED : FLASH_EXIT_BAD_COPY, err);
  const char *corrupt_at = g_getenv("HAVEN_FLASH_TEST_CORRUPT_AT");
  if (corrupt_at)
    test_corrupt(device, corrupt_at);
  ok = hv_flash_verify(flash, target, &err);
  progress_clear(&progress);
  if (!ok)
    return fail(&l, g_error_matches(err, HV_FLASH_ERROR, HV_FLASH_ERROR_INTERRUPTED) ? "interrupted-verify"
                                                                                     : "verify-failed",
                FLASH_EXIT_BAD_COPY, err);
  guint64 written = hv_flash_get_bytes_written(flash);
  double ws = hv_flash_get_write_seconds(flash), vs = hv_flash_get_verify_seconds(flash);
  if (!hv_flash_get_verify_direct(flash))
    g_print("note: %s's filesystem refuses O_DIRECT: read back through the page cache after "
            "dropping it\n", device);
  g_print("flashed %s: %.1f MB written in %.1f s (%.1f MB/s), read back in %.1f s (%.1f MB/s): "
          "identical\n", device, (double)written / 1e6, ws, ws > 0 ? (double)written / ws / 1e6 : 0,
          vs, vs > 0 ? (double)written / vs / 1e6 : 0);
  log_line(&l, "ok", NULL);
  return FLASH_EXIT_OK;
}
