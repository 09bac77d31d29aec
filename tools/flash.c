// SPDX-License-Identifier: GPL-2.0-or-later
/* Check, write and read back a bmap'ed image. */
#include "flash.h"
#include "sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <json-glib/json-glib.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

G_DEFINE_QUARK(hv-flash-error-quark, hv_flash_error)

/* Reads and writes go in chunks of at most this much, aligned for O_DIRECT. */
#define FLASH_CHUNK     (4u * 1024 * 1024)
#define FLASH_BUF_ALIGN 4096u
#define DIGEST_LEN      32u

typedef struct {
  guint64 offset, length;
  guchar  digest[DIGEST_LEN]; /* BLAKE2b of the image's bytes, from check_image */
} FlashChunk;

struct _HvFlash {
  char               *image_path;
  char               *shown;
  const HvBmap       *bmap;
  GArray             *chunks; /* FlashChunk, in offset order */
  gboolean            checked;
  gboolean            buffered;
  HvFlashProgressFunc progress;
  gpointer            progress_data;
  const volatile sig_atomic_t *stop;
  guint64             written;
  gint64              check_us, write_us, verify_us;
  gboolean            verify_direct;
};

/* An aligned I/O buffer. */
typedef guchar AlignedBuf;
static void
aligned_buf_free(AlignedBuf *buf)
{
  free(buf);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AlignedBuf, aligned_buf_free)

static AlignedBuf *
aligned_buf_new(gsize size, gsize align)
{
  void *p = NULL;
  if (posix_memalign(&p, MAX(align, FLASH_BUF_ALIGN), size) != 0)
    g_error("out of memory for a %zu-byte I/O buffer", size);
  return p;
}

typedef int AutoFd;
static void
auto_fd_close(AutoFd *fd)
{
  if (*fd >= 0)
    close(*fd);
}
#define AUTO_FD __attribute__((cleanup(auto_fd_close))) AutoFd

HvFlash *
hv_flash_new(const char *image_path, const HvBmap *bmap)
{
  HvFlash *f = g_new0(HvFlash, 1);
  f->image_path = g_strdup(image_path);
  f->shown = g_filename_display_name(image_path);
  f->bmap = bmap;
  f->chunks = g_array_new(FALSE, FALSE, sizeof(FlashChunk));
  for (guint i = 0; i < hv_bmap_get_n_ranges(bmap); i++) {
    guint64 start = 0, len = 0;
    hv_bmap_get_range(bmap, i, &start, &len, NULL);
    for (guint64 off = start; off < start + len; off += FLASH_CHUNK) {
      FlashChunk c = { .offset = off, .length = MIN(FLASH_CHUNK, start + len - off) };
      g_array_append_val(f->chunks, c);
    }
  }
  return f;
}

void
hv_flash_free(HvFlash *f)
{
  if (!f)
    return;
  g_free(f->image_path);
  g_free(f->shown);
  g_array_unref(f->chunks);
  g_free(f);
}

void
hv_flash_set_progress(HvFlash *f, HvFlashProgressFunc func, gpointer user_data)
{
  f->progress = func;
  f->progress_data = user_data;
}

void
hv_flash_set_buffered(HvFlash *f, gboolean buffered)
{
  f->buffered = buffered;
}

void
hv_flash_set_stop_flag(HvFlash *f, const volatile sig_atomic_t *flag)
{
  f->stop = flag;
}

/* TRUE (with the error set) when asked to stop: called between chunks. */
static gboolean
stopped(HvFlash *f, const char *what, guint64 done, guint64 total, GError **error)
{
  if (!f->stop || !*f->stop)
    return FALSE;
  g_set_error(error, HV_FLASH_ERROR, HV_FLASH_ERROR_INTERRUPTED,
              "interrupted while %s, after %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " bytes", what,
              done, total);
  return TRUE;
}

static void
report(HvFlash *f, HvFlashPhase phase, guint64 done, guint64 total)
{
  if (f->progress)
    f->progress(phase, done, total, f->progress_data);
}

/* pread until len bytes, end of file, or (when stop_short) a short read;
 * returns the bytes read or -errno. */
static gssize
pread_full(int fd, guchar *buf, gsize len, guint64 offset, gboolean stop_short)
{
  gsize got = 0;
  while (got < len) {
    ssize_t r = pread(fd, buf + got, len - got, (off_t)(offset + got));
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return -errno;
    if (r == 0)
      break;
    got += (gsize)r;
    if (stop_short && got < len)
      break;
  }
  return (gssize)got;
}

static gboolean
pwrite_full(int fd, const guchar *buf, gsize len, guint64 offset)
{
  gsize done = 0;
  while (done < len) {
    ssize_t r = pwrite(fd, buf + done, len - done, (off_t)(offset + done));
    if (r < 0 && errno == EINTR)
      continue;
    if (r == 0)
      errno = EIO;
    if (r <= 0)
      return FALSE;
    done += (gsize)r;
  }
  return TRUE;
}

/* SHA-256 through libcrypto (tools/sha256.c: the CPU's SHA instructions where
 * present), other types of bmap checksum through GChecksum. */
typedef struct {
  GChecksum *other;
  HvSha256  *sha256;
} Hasher;

static void
hasher_init(Hasher *h, GChecksumType type)
{
  h->other = type == G_CHECKSUM_SHA256 ? NULL : g_checksum_new(type);
  h->sha256 = h->other ? NULL : hv_sha256_new();
}

static void
hasher_update(Hasher *h, const guchar *data, gsize len)
{
  if (h->other)
    g_checksum_update(h->other, data, (gssize)len);
  else
    hv_sha256_update(h->sha256, data, len);
}

/* Lower-case hex (caller frees); h is spent. */
static char *
hasher_finish(Hasher *h)
{
  char *hex;
  if (h->other) {
    hex = g_strdup(g_checksum_get_string(h->other));
    g_checksum_free(h->other);
  } else {
    hex = hv_sha256_finish(h->sha256);
    hv_sha256_free(h->sha256);
  }
  h->other = NULL;
  h->sha256 = NULL;
  return hex;
}

static void
digest(const guchar *data, gsize len, guchar out[DIGEST_LEN])
{
  crypto_generichash(out, DIGEST_LEN, data, len, NULL, 0);
}

static gboolean
read_image(HvFlash *f, int fd, guchar *buf, guint64 offset, gsize len, GError **error)
{
  gssize got = pread_full(fd, buf, len, offset, FALSE);
  if (got < 0) {
    g_set_error(error, HV_FLASH_ERROR, HV_FLASH_ERROR_IO, "%s: reading at offset %"
                G_GUINT64_FORMAT ": %s", f->shown, offset, g_strerror((int)-got));
    return FALSE;
  }
  if ((gsize)got < len) {
    g_set_error(error, HV_FLASH_ERROR, HV_FLASH_ERROR_IMAGE,
                "%s: ends at offset %" G_GUINT64_FORMAT ", before the bmap's image size",
                f->shown, offset + (guint64)got);
    return FALSE;
  }
  return TRUE;
}

/* The bytes from..to lie outside every range: they must be zero (the card
 * keeps its old data there). Holes are skipped with SEEK_DATA, not read. */
static gboolean
check_gap(HvFlash *f, int fd, guchar *buf, const guchar *zeros, Hasher *sha, guint64 from,
          guint64 to, GError **error)
{
  guint64 total = hv_bmap_get_image_size(f->bmap);
  while (from < to) {
    if (stopped(f, "checking the image", from, total, error))
      return FALSE;
    off_t data = lseek(fd, (off_t)from, SEEK_DATA);
    guint64 hole_end = data < 0 ? (errno == ENXIO ? to : from) : MIN((guint64)data, to);
    if (hole_end > from) {
      for (guint64 off = from; off < hole_end; off += FLASH_CHUNK)
        hasher_update(sha, zeros, (gsize)MIN(FLASH_CHUNK, hole_end - off));
      from = hole_end;
      report(f, HV_FLASH_PHASE_CHECK, from, total);
      continue;
    }
    gsize n = (gsize)MIN(FLASH_CHUNK, to - from);
    if (!read_image(f, fd, buf, from, n, error))
      return FALSE;
    if (memcmp(buf, zeros, n) != 0) {
      gsize i = 0;
      while (buf[i] == 0)
        i++;
      g_set_error(error, HV_FLASH_ERROR, HV_FLASH_ERROR_IMAGE,
                  "%s: offset %" G_GUINT64_FORMAT " holds data but the bmap maps no block "
                  "there (a bmap for another image?)", f->shown, from + i);
      return FALSE;
    }
    hasher_update(sha, buf, n);
    from += n;
    report(f, HV_FLASH_PHASE_CHECK, from, total);
  }
  return TRUE;
}

gboolean
hv_flash_check_image(HvFlash *f, const char *sha256_hex, GError **error)
{
  AUTO_FD fd = open(f->image_path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) {
    int e = errno;
    g_set_error(error, HV_FLASH_ERROR, HV_FLASH_ERROR_IO, "%s: %s", f->shown, g_strerror(e));
    return FALSE;
  }
  guint64 size = hv_bmap_get_image_size(f->bmap);
  if (!S_ISREG(st.st_mode) || (guint64)st.st_size != size) {
    g_set_error(error, HV_FLASH_ERROR, HV_FLASH_ERROR_IMAGE,
                "%s: %s, but its bmap describes an image of %" G_GUINT64_FORMAT " bytes",
                f->shown, S_ISREG(st.st_mode) ? "size differs" : "not a regular file", size);
    return FALSE;
  }
  gint64 t0 = g_get_monotonic_time();
  g_autoptr(AlignedBuf) buf = aligned_buf_new(FLASH_CHUNK, FLASH_BUF_ALIGN);
  g_autofree guchar *zeros = g_malloc0(FLASH_CHUNK);
  Hasher sha;
  hasher_init(&sha, G_CHECKSUM_SHA256);
  GChecksumType type = hv_bmap_get_checksum_type(f->bmap);
  guint64 pos = 0;
  guint c = 0;
  gboolean ok = TRUE;
  for (guint i = 0; ok && i < hv_bmap_get_n_ranges(f->bmap); i++) {
    guint64 start = 0, len = 0;
    const char *want = NULL;
    hv_bmap_get_range(f->bmap, i, &start, &len, &want);
    ok = check_gap(f, fd, buf, zeros, &sha, pos, start, error);
    Hasher range_sum = { 0 };
    if (want)
      hasher_init(&range_sum, type);
    for (; ok && c < f->chunks->len; c++) {
      FlashChunk *ch = &g_array_index(f->chunks, FlashChunk, c);
      if (ch->offset >= start + len)
        break;
      if (stopped(f, "checking the image", ch->offset, size, error)) {
        ok = FALSE;
        break;
      }
      ok = read_image(f, fd, buf, ch->offset, ch->length, error);
      if (!ok)
        break;
      hasher_update(&sha, buf, ch->length);
      if (want)
        hasher_update(&range_sum, buf, ch->length);
      digest(buf, ch->length, ch->digest);
      report(f, HV_FLASH_PHASE_CHECK, ch->offset + ch->length, size);
    }
    g_autofree char *got = want ? hasher_finish(&range_sum) : NULL;
    if (ok && want && strcmp(got, want)) {
      g_set_error(error, HV_FLASH_ERROR, HV_FLASH_ERROR_IMAGE,
                  "%s: bytes %" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT
                  " do not match their checksum in the bmap (a bmap for another image?)",
                  f->shown, start, start + len - 1);
      ok = FALSE;
    }
    pos = start + len;
  }
  ok = ok && check_gap(f, fd, buf, zeros, &sha, pos, size, error);
  g_autofree char *got = hasher_finish(&sha);
  if (!ok)
    return FALSE;
  g_autofree char *want = g_ascii_strdown(sha256_hex, -1);
  if (strcmp(got, want)) {
    g_set_error(error, HV_FLASH_ERROR, HV_FLASH_ERROR_IMAGE,
                "%s: SHA-256 is %s, its manifest says %s: the image is damaged or not the one "
                "the manifest describes", f->shown, got, want);
    return FALSE;
  }
  f->checked = TRUE;
  f->check_us = g_get_monotonic_time() - t0;
  return TRUE;
}

gboolean
hv_flash_write(HvFlash *f, HvFlashTarget *target, GError **error)
{
  g_return_val_if_fail(f->checked, FALSE);
  const char *dev = hv_flash_target_get_path(target);
  g_autofree char *shown = g_filename_display_name(dev);
  guint64 size = hv_bmap_get_image_size(f->bmap);
  guint64 total = hv_bmap_get_mapped_bytes(f->bmap);
  AUTO_FD img = open(f->image_path, O_RDONLY | O_CLOEXEC);
  if (img < 0) {
    int e = errno;
    g_set_error(error, HV_FLASH_ERROR, HV_FLASH_ERROR_IO, "%s: %s", f->shown, g_strerror(e));
    return FALSE;
  }
  AUTO_FD bfd = -1;
  AUTO_FD fd = hv_flash_target_open_write(target, size, f->buffered, &bfd, error);
  if (fd < 0)
    return FALSE;
  guint align = hv_flash_target_get_alignment(target);
  g_autoptr(AlignedBuf) buf = aligned_buf_new(FLASH_CHUNK, align);
  gint64 t0 = g_get_monotonic_time();
  f->written = 0;
  for (guint c = 0; c < f->chunks->len; c++) {
    const FlashChunk *ch = &g_array_index(f->chunks, FlashChunk, c);
    if (stopped(f, "writing", f->written, total, error))
      return FALSE;
    if (!read_image(f, img, buf, ch->offset, ch->length, error))
      return FALSE;
    guchar d[DIGEST_LEN];
    digest(buf, ch->length, d);
    if (memcmp(d, ch->digest, DIGEST_LEN)) {
      g_set_error(error, HV_FLASH_ERROR, HV_FLASH_ERROR_CHANGED,
                  "%s: changed at bytes %" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT
                  " after it was checked", f->shown, ch->offset, ch->offset + ch->length - 1);
      return FALSE;
    }
    /* O_DIRECT needs offset and length aligned; the image's tail may not be. */
    gboolean aligned = ch->offset % align == 0 && ch->length % align == 0;
    int out = bfd >= 0 && !aligned ? bfd : fd;
    if (!pwrite_full(out, buf, ch->length, ch->offset)) {
      int e = errno;
      g_set_error(error, HV_FLASH_ERROR, HV_FLASH_ERROR_WRITE,
                  "%s: writing at offset %" G_GUINT64_FORMAT ": %s", shown, ch->offset,
                  g_strerror(e));
      return FALSE;
    }
    f->written += ch->length;
    report(f, HV_FLASH_PHASE_WRITE, f->written, total);
  }
  if (fsync(fd) != 0 || (bfd >= 0 && fsync(bfd) != 0)) {
    int e = errno;
    g_set_error(error, HV_FLASH_ERROR, HV_FLASH_ERROR_WRITE, "%s: syncing: %s", shown,
                g_strerror(e));
    return FALSE;
  }
  f->write_us = g_get_monotonic_time() - t0;
  return TRUE;
}

/* The first byte where the target's chunk (got) differs from the image. */
static gboolean
locate_mismatch(HvFlash *f, const FlashChunk *ch, const guchar *got, const char *shown,
                GError **error)
{
  AUTO_FD img = open(f->image_path, O_RDONLY | O_CLOEXEC);
  g_autofree guchar *want = g_malloc(ch->length);
  guchar d[DIGEST_LEN];
  if (img < 0 || pread_full(img, want, ch->length, ch->offset, FALSE) != (gssize)ch->length ||
      (digest(want, ch->length, d), memcmp(d, ch->digest, DIGEST_LEN) != 0)) {
    g_set_error(error, HV_FLASH_ERROR, HV_FLASH_ERROR_CHANGED,
                "%s: differs from the image at bytes %" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT
                ", and the image itself changed there since it was checked", shown, ch->offset,
                ch->offset + ch->length - 1);
    return FALSE;
  }
  gsize i = 0;
  while (i < ch->length && got[i] == want[i])
    i++;
  g_set_error(error, HV_FLASH_ERROR, HV_FLASH_ERROR_VERIFY,
              "%s: read-back differs from the image at byte offset %" G_GUINT64_FORMAT
              " (0x%" G_GINT64_MODIFIER "x): the card is faulty or was changed", shown,
              ch->offset + i, ch->offset + i);
  return FALSE;
}

gboolean
hv_flash_verify(HvFlash *f, HvFlashTarget *target, GError **error)
{
  g_return_val_if_fail(f->checked, FALSE);
  const char *dev = hv_flash_target_get_path(target);
  g_autofree char *shown = g_filename_display_name(dev);
  guint64 total = hv_bmap_get_mapped_bytes(f->bmap);
  gboolean direct = FALSE;
  AUTO_FD fd = hv_flash_target_open_read(target, &direct, error);
  if (fd < 0)
    return FALSE;
  f->verify_direct = direct;
  guint align = direct ? hv_flash_target_get_alignment(target) : 1;
  g_autoptr(AlignedBuf) buf = aligned_buf_new(FLASH_CHUNK + 2 * (gsize)align, align);
  gint64 t0 = g_get_monotonic_time();
  guint64 done = 0;
  for (guint c = 0; c < f->chunks->len; c++) {
    const FlashChunk *ch = &g_array_index(f->chunks, FlashChunk, c);
    if (stopped(f, "reading back", done, total, error))
      return FALSE;
    guint64 start = ch->offset - ch->offset % align;
    guint64 end = (ch->offset + ch->length + align - 1) / align * align;
    gssize got = pread_full(fd, buf, (gsize)(end - start), start, direct);
    if (got < 0 || (guint64)got < ch->offset + ch->length - start) {
      g_set_error(error, HV_FLASH_ERROR, HV_FLASH_ERROR_VERIFY_IO,
                  "%s: reading back at offset %" G_GUINT64_FORMAT ": %s", shown, ch->offset,
                  got < 0 ? g_strerror((int)-got) : "ends early");
      return FALSE;
    }
    const guchar *data = buf + (ch->offset - start);
    guchar d[DIGEST_LEN];
    digest(data, ch->length, d);
    if (memcmp(d, ch->digest, DIGEST_LEN))
      return locate_mismatch(f, ch, data, shown, error);
    done += ch->length;
    report(f, HV_FLASH_PHASE_VERIFY, done, total);
  }
  f->verify_us = g_get_monotonic_time() - t0;
  return TRUE;
}

guint64
hv_flash_get_bytes_written(const HvFlash *f)
{
  return f->written;
}

double
hv_flash_get_check_seconds(const HvFlash *f)
{
  return (double)f->check_us / G_USEC_PER_SEC;
}

double
hv_flash_get_write_seconds(const HvFlash *f)
{
  return (double)f->write_us / G_USEC_PER_SEC;
}

double
hv_flash_get_verify_seconds(const HvFlash *f)
{
  return (double)f->verify_us / G_USEC_PER_SEC;
}

gboolean
hv_flash_get_verify_direct(const HvFlash *f)
{
  return f->verify_direct;
}

/* ---- the image's expected digest ---- */

static gboolean
is_sha256_hex(const char *s)
{
  if (!s || strlen(s) != 64)
    return FALSE;
  for (guint i = 0; i < 64; i++)
    if (!g_ascii_isxdigit(s[i]))
      return FALSE;
  return TRUE;
}

static char *
read_manifest(const char *path, const char *base, guint64 *ret_size, GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new();
  g_autoptr(GError) e = NULL;
  g_autofree char *shown = g_filename_display_name(path);
  if (!json_parser_load_from_mapped_file(parser, path, &e)) {
    g_set_error(error, HV_FLASH_ERROR, HV_FLASH_ERROR_MANIFEST, "%s: %s", shown, e->message);
    return NULL;
  }
  JsonNode *root = json_parser_get_root(parser);
  JsonObject *o = root && JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : NULL;
  JsonNode *format = o ? json_object_get_member(o, "format") : NULL;
  JsonNode *image = o ? json_object_get_member(o, "image") : NULL;
  JsonNode *sha = o ? json_object_get_member(o, "sha256") : NULL;
  JsonNode *size = o ? json_object_get_member(o, "size") : NULL;
  if (!format || json_node_get_value_type(format) != G_TYPE_INT64 ||
      json_node_get_int(format) != 1) {
    g_set_error(error, HV_FLASH_ERROR, HV_FLASH_ERROR_MANIFEST,
                "%s: not an image manifest of format 1 (a JSON object with \"format\": 1, "
                "\"image\", \"sha256\" and \"size\", as board/image/build-image.sh writes it)",
                shown);
    return NULL;
  }
  if (!image || json_node_get_value_type(image) != G_TYPE_STRING ||
      strcmp(json_node_get_string(image), base)) {
    g_set_error(error, HV_FLASH_ERROR, HV_FLASH_ERROR_MANIFEST,
                "%s: describes image \"%s\", not %s", shown,
                image && json_node_get_value_type(image) == G_TYPE_STRING
                  ? json_node_get_string(image) : "?", base);
    return NULL;
  }
  if (!sha || json_node_get_value_type(sha) != G_TYPE_STRING ||
      !is_sha256_hex(json_node_get_string(sha)) || !size ||
      json_node_get_value_type(size) != G_TYPE_INT64 || json_node_get_int(size) < 0) {
    g_set_error(error, HV_FLASH_ERROR, HV_FLASH_ERROR_MANIFEST,
                "%s: \"sha256\" (64 hex digits) or \"size\" is missing or malformed", shown);
    return NULL;
  }
  *ret_size = (guint64)json_node_get_int(size);
  return g_ascii_strdown(json_node_get_string(sha), -1);
}

/* sha256sum's format: "<hex>  <name>" (or " *<name>" in binary mode). */
static char *
read_sha256_file(const char *path, const char *base, GError **error)
{
  g_autofree char *text = NULL;
  g_autofree char *shown = g_filename_display_name(path);
  g_autoptr(GError) e = NULL;
  if (!g_file_get_contents(path, &text, NULL, &e)) {
    g_set_error(error, HV_FLASH_ERROR, HV_FLASH_ERROR_MANIFEST, "%s", e->message);
    return NULL;
  }
  g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
  for (guint i = 0; lines[i]; i++) {
    if (strlen(lines[i]) < 67)
      continue;
    g_autofree char *hex = g_strndup(lines[i], 64);
    const char *name = lines[i] + 66;
    if (lines[i][64] == ' ' && (lines[i][65] == ' ' || lines[i][65] == '*') && is_sha256_hex(hex)
        && !strcmp(name, base))
      return g_ascii_strdown(hex, -1);
  }
  g_set_error(error, HV_FLASH_ERROR, HV_FLASH_ERROR_MANIFEST,
              "%s: no \"<sha256>  %s\" line", shown, base);
  return NULL;
}

char *
hv_flash_read_expected_digest(const char *image_path, guint64 *ret_size, char **ret_source,
                              GError **error)
{
  g_autofree char *base = g_path_get_basename(image_path);
  g_autofree char *manifest = g_strconcat(image_path, ".manifest.json", NULL);
  g_autofree char *sumfile = g_strconcat(image_path, ".sha256", NULL);
  gboolean have_manifest = g_file_test(manifest, G_FILE_TEST_EXISTS);
  gboolean have_sum = g_file_test(sumfile, G_FILE_TEST_EXISTS);
  if (!have_manifest && !have_sum) {
    g_autofree char *shown = g_filename_display_name(image_path);
    g_set_error(error, HV_FLASH_ERROR, HV_FLASH_ERROR_MANIFEST,
                "%s: neither %s.manifest.json nor %s.sha256 is beside it: cannot check the image",
                shown, base, base);
    return NULL;
  }
  guint64 size = G_MAXUINT64;
  g_autofree char *from_manifest = have_manifest ? read_manifest(manifest, base, &size, error)
                                                 : NULL;
  if (have_manifest && !from_manifest)
    return NULL;
  g_autofree char *from_sum = have_sum ? read_sha256_file(sumfile, base, error) : NULL;
  if (have_sum && !from_sum)
    return NULL;
  if (from_manifest && from_sum && strcmp(from_manifest, from_sum)) {
    g_set_error(error, HV_FLASH_ERROR, HV_FLASH_ERROR_MANIFEST,
                "%s.manifest.json and %s.sha256 disagree on the image's SHA-256", base, base);
    return NULL;
  }
  *ret_size = size;
  *ret_source = g_strdup(have_manifest && have_sum ? "manifest and .sha256"
                         : have_manifest           ? "manifest"
                                                   : ".sha256");
  return from_manifest ? g_steal_pointer(&from_manifest) : g_steal_pointer(&from_sum);
}
