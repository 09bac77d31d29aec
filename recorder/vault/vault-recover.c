// SPDX-License-Identifier: GPL-2.0-or-later
#define G_LOG_DOMAIN "haven-vault"
#include "vault-recover.h"
#include "vault-file.h"
#include "vault-verify.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

G_DEFINE_QUARK(hv-recover-error-quark, hv_recover_error)

/* TRUE when dir/name exists as anything at all (file, directory, dangling symlink). */
static gboolean
part_present(const char *dir, const char *name)
{
  g_autofree char *path = g_build_filename(dir, name, NULL);
  struct stat st;
  return lstat(path, &st) == 0 || errno != ENOENT;
}

/* dir/name must be a regular file (not a symlink); returns its size. */
static gboolean
part_regular(const char *dir, const char *name, guint64 *ret_size, GError **error)
{
  g_autofree char *path = g_build_filename(dir, name, NULL);
  struct stat st;
  if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
    g_set_error(error, HV_RECOVER_ERROR, HV_RECOVER_ERROR_UNVERIFIABLE,
                "%s: %s; nothing can be checked against the signed checkpoints, so nothing was changed",
                path, errno == ENOENT ? "missing" : "not a regular file");
    return FALSE;
  }
  *ret_size = (guint64) st.st_size;
  return TRUE;
}

/* Count the leading checkpoints of index.hvi signed by the device for this
 * session, and whether any signed checkpoint follows an unsigned one. */
static gboolean
count_signed_checkpoints(const char *dir, const HvHeader *h, guint64 *ret_signed, GError **error)
{
  g_autofree char *path = g_build_filename(dir, HV_FILE_INDEX, NULL);
  int fd = hv_open_regular(path, error);
  if (fd < 0)
    return FALSE;
  FILE *fp = fdopen(fd, "rb");
  if (!fp) {
    close(fd);
    g_set_error(error, HV_RECOVER_ERROR, HV_RECOVER_ERROR_IO, "%s: %s", path, g_strerror(errno));
    return FALSE;
  }
  guint8 buf[HV_CHECKPOINT_SIZE];
  guint64 n = 0, total = 0;
  gboolean prefix = TRUE, late = FALSE;
  while (fread(buf, 1, sizeof buf, fp) == sizeof buf) {
    total++;
    HvCheckpoint cp;
    gboolean ok = hv_checkpoint_decode(buf, &cp, NULL) &&
                  hv_checkpoint_verify_signature(buf, h->session_id, h->device_pk);
    if (ok && prefix)
      n++;
    else if (ok)
      late = TRUE;
    else
      prefix = FALSE;
  }
  fclose(fp);
  if (late) {
    g_set_error(error, HV_RECOVER_ERROR, HV_RECOVER_ERROR_DAMAGED,
                "%s: a signed checkpoint follows a damaged one (checkpoint %" G_GUINT64_FORMAT " of %"
                G_GUINT64_FORMAT "): the index was altered; nothing was changed", path, n + 1, total);
    return FALSE;
  }
  *ret_signed = n;
  return TRUE;
}

static gboolean
truncate_durably(const char *dir, const char *name, guint64 size, guint64 *ret_dropped, GError **error)
{
  g_autofree char *path = g_build_filename(dir, name, NULL);
  int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0 || ftruncate(fd, (off_t) size) < 0 || fsync(fd) < 0) {
    g_set_error(error, HV_RECOVER_ERROR, HV_RECOVER_ERROR_IO, "%s: cannot cut back to %" G_GUINT64_FORMAT
                " bytes: %s", path, size, g_strerror(errno));
    if (fd >= 0)
      close(fd);
    return FALSE;
  }
  if (ret_dropped)
    *ret_dropped = (guint64) st.st_size > size ? (guint64) st.st_size - size : 0;
  close(fd);
  return TRUE;
}

/* H over the first n checkpoints of index.hvi, the seal's index_hash (FORMAT.md §7). */
static gboolean
hash_index(const char *dir, guint64 n, guint8 ret_hash[HV_HASH_SIZE], GError **error)
{
  g_autofree char *path = g_build_filename(dir, HV_FILE_INDEX, NULL);
  int fd = hv_open_regular(path, error);
  if (fd < 0)
    return FALSE;
  crypto_generichash_state st;
  crypto_generichash_init(&st, NULL, 0, HV_HASH_SIZE);
  guint8 buf[HV_CHECKPOINT_SIZE];
  for (guint64 i = 0; i < n; i++) {
    ssize_t got = pread(fd, buf, sizeof buf, (off_t) (i * sizeof buf));
    if (got != (ssize_t) sizeof buf) {
      g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_IO, "%s: checkpoint %" G_GUINT64_FORMAT
                  " cannot be read back: %s", path, i + 1, got < 0 ? g_strerror(errno) : "file too short");
      close(fd);
      return FALSE;
    }
    crypto_generichash_update(&st, buf, sizeof buf);
  }
  close(fd);
  crypto_generichash_final(&st, ret_hash, HV_HASH_SIZE);
  return TRUE;
}

/* Everything that must hold before a single byte is changed. */
static gboolean
check_recoverable(const char *dir, const HvVerdict *v, GError **error)
{
  guint64 rec_size, idx_size, n_signed;
  if (!part_regular(dir, HV_FILE_INDEX, &idx_size, error) || !part_regular(dir, HV_FILE_RECORDS, &rec_size, error) ||
      !count_signed_checkpoints(dir, &v->header, &n_signed, error))
    return FALSE;
  const HvGoodPrefix *g = &v->good;
  if (g->checkpoints != n_signed) {
    g_set_error(error, HV_RECOVER_ERROR, HV_RECOVER_ERROR_DAMAGED,
                "%s: the records match only %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " signed checkpoints "
                "(%s); cutting them would destroy signed evidence, so nothing was changed", dir,
                g->checkpoints, n_signed, v->problem ? v->problem : "records missing");
    return FALSE;
  }
  if (rec_size < g->data_end) {
    g_set_error(error, HV_RECOVER_ERROR, HV_RECOVER_ERROR_DAMAGED,
                "%s: %s is shorter than its last signed checkpoint; nothing was changed", dir, HV_FILE_RECORDS);
    return FALSE;
  }
  return TRUE;
}

/* The lock the vault writer holds on records.hvr while it records. Returns
 * the fd holding it, or -1 with no error when records.hvr cannot be opened
 * (the checks below then refuse), or -1 with an error. */
static int
lock_records(const char *dir, GError **error)
{
  g_autofree char *path = g_build_filename(dir, HV_FILE_RECORDS, NULL);
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
  if (fd < 0)
    return -1;
  if (flock(fd, LOCK_EX | LOCK_NB) == 0)
    return fd;
  int e = errno;
  close(fd);
  if (e == EWOULDBLOCK)
    g_set_error(error, HV_RECOVER_ERROR, HV_RECOVER_ERROR_LOCKED,
                "%s: the session is being recorded by a running havend (%s is locked); nothing was changed",
                dir, HV_FILE_RECORDS);
  else
    g_set_error(error, HV_RECOVER_ERROR, HV_RECOVER_ERROR_IO,
                "%s: %s cannot be locked (%s), so a running recorder cannot be ruled out; nothing was changed",
                dir, HV_FILE_RECORDS, g_strerror(e));
  return -1;
}

static gboolean recover_locked(const char *dir, const HvDeviceKey *key, HvRecoverResult *ret_result,
                               GError **error);

gboolean
hv_vault_recover(const char *dir, const HvDeviceKey *key, HvRecoverResult *ret_result, GError **error)
{
  GError *lerr = NULL;
  int lock_fd = lock_records(dir, &lerr);
  if (lerr) {
    g_propagate_error(error, lerr);
    return FALSE;
  }
  gboolean ok = recover_locked(dir, key, ret_result, error);
  if (lock_fd >= 0)
    close(lock_fd); /* after the seal is durable */
  return ok;
}

static gboolean
recover_locked(const char *dir, const HvDeviceKey *key, HvRecoverResult *ret_result, GError **error)
{
  HvRecoverResult res = { 0 };
  HvVerifyOptions opts = { .expected_device_pk = key->pk };
  g_autoptr(HvVerdict) v = hv_vault_verify(dir, &opts, error);
  if (!v)
    return FALSE;
  if (!v->have_header) {
    g_set_error(error, HV_VAULT_ERROR, v->problem_code, "%s: cannot recover: %s", dir, v->problem);
    return FALSE;
  }
  res.device_seq = v->header.device_seq;
  if (part_present(dir, HV_FILE_SEAL)) {
    if (v->have_seal) {        /* signed by this device and matching the header */
      memcpy(res.seal_hash, v->seal_hash, HV_HASH_SIZE);
      *ret_result = res;
      return TRUE;
    }
    g_set_error(error, HV_RECOVER_ERROR, HV_RECOVER_ERROR_SEAL_PRESENT,
                "%s: %s exists but is not a valid seal of this session (%s); the session is left "
                "untouched for examination", dir, HV_FILE_SEAL, v->problem ? v->problem : "unreadable");
    return FALSE;
  }
  if (!check_recoverable(dir, v, error))
    return FALSE;

  const HvGoodPrefix *g = &v->good;
  if (!truncate_durably(dir, HV_FILE_RECORDS, g->data_end, &res.dropped_bytes, error) ||
      !truncate_durably(dir, HV_FILE_INDEX, g->checkpoints * HV_CHECKPOINT_SIZE, NULL, error))
    return FALSE;

  guint8 header_hash[HV_HASH_SIZE];
  g_autofree char *hpath = g_build_filename(dir, HV_FILE_HEADER, NULL);
  g_autoptr(GBytes) hbytes = hv_file_read_bounded(hpath, HV_HEADER_MAX_SIZE, error);
  if (!hbytes)
    return FALSE;
  hv_hash(g_bytes_get_data(hbytes, NULL), g_bytes_get_size(hbytes), header_hash);

  /* Every field from the files (FORMAT.md §9): the seal time is the wall time
   * of the last kept record, or the header's creation time when none is kept. */
  HvSeal s = {
    .version = HV_FORMAT_VERSION, .status = HV_STATUS_INTERRUPTED,
    .device_seq = v->header.device_seq, .record_count = g->count, .media_count = g->media_count,
    .marker_count = g->marker_count, .data_end = g->data_end,
    .start_wall_us = g->count ? g->first_wall_us : 0, .end_wall_us = g->count ? g->last_wall_us : 0,
    .end_mono_us = g->count ? g->last_mono_us : 0,
    .sealed_wall_us = g->count ? g->last_wall_us : v->header.created_wall_us,
    .checkpoint_count = g->checkpoints,
  };
  if (!hash_index(dir, g->checkpoints, s.index_hash, error))
    return FALSE;
  memcpy(s.session_id, v->header.session_id, HV_SESSION_ID_SIZE);
  memcpy(s.header_hash, header_hash, HV_HASH_SIZE);
  memcpy(s.head, g->head, HV_HASH_SIZE);
  g_strlcpy(s.reason, "recovered after an unclean stop (crash or power loss); "
            "records after the last signed checkpoint were dropped", sizeof s.reason);

  g_autoptr(GBytes) enc = hv_seal_encode(&s);
  gsize len;
  guint8 *data = (guint8 *) g_bytes_get_data(enc, &len);
  hv_seal_sign(data, len, key->sk);
  if (!hv_file_write_atomic(dir, HV_FILE_SEAL, data, len, 0640, error))
    return FALSE;
  hv_hash(data, len, res.seal_hash);
  res.recovered = TRUE;
  res.kept_records = g->count;
  *ret_result = res;
  return TRUE;
}
