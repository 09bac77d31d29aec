// SPDX-License-Identifier: GPL-2.0-or-later
#define G_LOG_DOMAIN "haven-vault"
#include "vault-writer.h"
#include "vault-file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
  char    *dir;
  int      rec_fd;
  int      idx_fd;
  gboolean failed;
  gboolean reported;
  GError  *error;
} Sink;

typedef struct {
  guint64 count, data_end, media_count, marker_count;
  guint8  head[HV_HASH_SIZE];
  gint64  end_wall_us;
  guint64 end_mono_us;
} ChainState;

struct _HvVaultWriter {
  GPtrArray *sinks;                 /* Sink* */
  guint8    session_id[HV_SESSION_ID_SIZE];
  guint8    header_hash[HV_HASH_SIZE];
  guint64   device_seq;
  guint8   *device_sk;              /* sodium_malloc */
  crypto_secretstream_xchacha20poly1305_state *ss; /* sodium_malloc */
  guint32   chunk_max;
  gboolean  no_sync;
  guint8   *pending;                /* sodium_malloc: plaintext never swaps out */
  gsize     pending_len;
  guint8   *record;                 /* header + ciphertext */
  ChainState cur, committed;
  guint64   n_checkpoints;          /* checkpoints durably in every healthy index */
  crypto_generichash_state *index_hash; /* running H over those checkpoints (64-aligned) */
  gint64    start_wall_us;
  gboolean  finished;
  gboolean  final_written;
  guint8    seal_hash[HV_HASH_SIZE];
  char     *fingerprint;
};

static void
sink_free(Sink *s)
{
  if (s->rec_fd >= 0)
    close(s->rec_fd);
  if (s->idx_fd >= 0)
    close(s->idx_fd);
  g_clear_error(&s->error);
  g_free(s->dir);
  g_free(s);
}

void
hv_vault_writer_free(HvVaultWriter *w)
{
  if (!w)
    return;
  g_ptr_array_unref(w->sinks);
  sodium_free(w->device_sk);
  sodium_free(w->ss);
  sodium_free(w->pending);
  g_free(w->record);
  g_aligned_free(w->index_hash);
  g_free(w->fingerprint);
  g_free(w);
}

static gboolean
open_sink(Sink *s, GBytes *header, gboolean no_sync, GError **error)
{
  if (g_mkdir_with_parents(s->dir, 0750) < 0 && errno != EEXIST) {
    g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_IO, "%s: %s", s->dir, g_strerror(errno));
    return FALSE;
  }
  /* The new directory's entry must be durable before a header makes it a
   * session (vfat working copies lose unsynced directory entries). */
  g_autofree char *parent = g_path_get_dirname(s->dir);
  if (!no_sync && !hv_dir_sync(parent, error)) {
    g_prefix_error(error, "%s: syncing the new session directory's parent: ", s->dir);
    return FALSE;
  }
  g_autofree char *seal = g_build_filename(s->dir, HV_FILE_SEAL, NULL);
  g_autofree char *hdr = g_build_filename(s->dir, HV_FILE_HEADER, NULL);
  if (g_file_test(hdr, G_FILE_TEST_EXISTS) || g_file_test(seal, G_FILE_TEST_EXISTS)) {
    g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_EXISTS,
                "%s: already holds a session, refusing to overwrite", s->dir);
    return FALSE;
  }
  g_autofree char *rec = g_build_filename(s->dir, HV_FILE_RECORDS, NULL);
  g_autofree char *idx = g_build_filename(s->dir, HV_FILE_INDEX, NULL);
  s->rec_fd = open(rec, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0640);
  if (s->rec_fd >= 0)
    s->idx_fd = open(idx, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0640);
  if (s->rec_fd < 0 || s->idx_fd < 0) {
    g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_IO, "%s: %s",
                s->rec_fd < 0 ? rec : idx, g_strerror(errno));
    return FALSE;
  }
  /* held until the sink is freed: recovery (vault-recover.c) takes the same
   * lock and never touches a session that is being recorded */
  if (flock(s->rec_fd, LOCK_EX | LOCK_NB) < 0) {
    g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_IO, "%s: cannot take the recording lock: %s", rec,
                g_strerror(errno));
    return FALSE;
  }
  /* header last: a directory with a header is a session that recovery must seal */
  gsize len;
  const guint8 *data = g_bytes_get_data(header, &len);
  return hv_file_write_atomic(s->dir, HV_FILE_HEADER, data, len, 0640, error);
}

static GBytes *
build_header(HvVaultWriter *w, const HvWriterParams *p)
{
  HvHeader h = { 0 };
  guint8 *key = sodium_malloc(HV_SS_KEY_SIZE);

  h.version = HV_FORMAT_VERSION;
  memcpy(h.session_id, w->session_id, HV_SESSION_ID_SIZE);
  memcpy(h.device_pk, p->device_key->pk, HV_DEVICE_PK_SIZE);
  h.device_seq = p->device_seq;
  if (p->prev_seal_hash)
    memcpy(h.prev_seal_hash, p->prev_seal_hash, HV_HASH_SIZE);
  h.created_wall_us = g_get_real_time();
  h.created_mono_us = (guint64) g_get_monotonic_time();
  h.chunk_max = w->chunk_max;
  g_strlcpy(h.room, p->room ? p->room : "", sizeof h.room);

  crypto_secretstream_xchacha20poly1305_keygen(key);
  crypto_secretstream_xchacha20poly1305_init_push(w->ss, h.ss_header, key);
  hv_key_commitment(key, h.session_id, h.ss_header, h.key_commitment);
  h.n_recipients = p->n_recipients;
  for (guint i = 0; i < p->n_recipients; i++) {
    const guint8 *pk = p->recipients + i * HV_RECIPIENT_PK_SIZE;
    memcpy(h.recipients[i].recipient_pk, pk, HV_RECIPIENT_PK_SIZE);
    crypto_box_seal(h.recipients[i].sealed_key, key, HV_SS_KEY_SIZE, pk);
  }
  /* From here on the device can no longer decrypt this session. */
  sodium_free(key);

  GBytes *enc = hv_header_encode(&h);
  gsize len;
  guint8 *data = (guint8 *) g_bytes_get_data(enc, &len);
  hv_header_sign(data, len, w->device_sk);
  return enc;
}

HvVaultWriter *
hv_vault_writer_new(const char *const *dirs, const HvWriterParams *p, GError **error)
{
  g_return_val_if_fail(dirs && dirs[0] && p && p->device_key, NULL);

  if (p->n_recipients == 0 || p->n_recipients > HV_RECIPIENTS_MAX) {
    g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_KEY,
                "%u recipients configured; a session needs 1 to %u", p->n_recipients, HV_RECIPIENTS_MAX);
    return NULL;
  }
  if (p->room && (strlen(p->room) > HV_ROOM_MAX || !g_utf8_validate(p->room, -1, NULL))) {
    g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_MALFORMED,
                "room name must be valid UTF-8 of at most %u bytes", HV_ROOM_MAX);
    return NULL;
  }
  if (p->device_seq == 0 || p->chunk_max > HV_CHUNK_MAX) {
    g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_MALFORMED,
                "device sequence must be >= 1 and chunk size <= %u", HV_CHUNK_MAX);
    return NULL;
  }

  g_autoptr(HvVaultWriter) w = g_new0(HvVaultWriter, 1);
  w->sinks = g_ptr_array_new_with_free_func((GDestroyNotify) sink_free);
  w->chunk_max = p->chunk_max ? p->chunk_max : HV_CHUNK_MAX;
  w->no_sync = p->no_sync;
  w->device_seq = p->device_seq;
  w->device_sk = sodium_malloc(HV_DEVICE_SK_SIZE);
  memcpy(w->device_sk, p->device_key->sk, HV_DEVICE_SK_SIZE);
  w->ss = sodium_malloc(sizeof *w->ss);
  w->pending = sodium_malloc(w->chunk_max);
  w->record = g_malloc(HV_RECORD_HEADER_SIZE + HV_MEDIA_RECORD_MAX);
  randombytes_buf(w->session_id, sizeof w->session_id);

  g_autoptr(GBytes) header = build_header(w, p);
  hv_hash(g_bytes_get_data(header, NULL), g_bytes_get_size(header), w->header_hash);
  hv_chain_init(w->header_hash, w->cur.head);
  w->index_hash = g_aligned_alloc0(1, sizeof *w->index_hash, 64);
  crypto_generichash_init(w->index_hash, NULL, 0, HV_HASH_SIZE);
  w->committed = w->cur;

  for (guint i = 0; dirs[i]; i++) {
    Sink *s = g_new0(Sink, 1);
    s->dir = g_strdup(dirs[i]);
    s->rec_fd = s->idx_fd = -1;
    g_ptr_array_add(w->sinks, s);
    if (!open_sink(s, header, w->no_sync, error))
      return NULL;
  }
  return g_steal_pointer(&w);
}

/* ---- sink failure ---- */

/* Encode and sign a seal over st; the same bytes go to every directory. */
static GBytes *
build_seal(HvVaultWriter *w, const ChainState *st, HvSealStatus status, const char *reason)
{
  HvSeal s = { 0 };
  s.version = HV_FORMAT_VERSION;
  s.status = status;
  memcpy(s.session_id, w->session_id, HV_SESSION_ID_SIZE);
  memcpy(s.header_hash, w->header_hash, HV_HASH_SIZE);
  s.device_seq = w->device_seq;
  s.record_count = st->count;
  s.media_count = st->media_count;
  s.marker_count = st->marker_count;
  s.data_end = st->data_end;
  memcpy(s.head, st->head, HV_HASH_SIZE);
  s.start_wall_us = st->count ? w->start_wall_us : 0;
  s.end_wall_us = st->end_wall_us;
  s.end_mono_us = st->end_mono_us;
  s.sealed_wall_us = g_get_real_time();
  /* every checkpoint is written at a commit, so n_checkpoints belongs to both
   * cur (after the final commit) and committed (sink_fail) */
  s.checkpoint_count = w->n_checkpoints;
  crypto_generichash_state ih;  /* finalise a copy: the running state stays usable */
  memcpy(&ih, w->index_hash, sizeof ih);
  crypto_generichash_final(&ih, s.index_hash, HV_HASH_SIZE);
  g_strlcpy(s.reason, reason ? reason : "", sizeof s.reason);

  GBytes *enc = hv_seal_encode(&s);
  gsize len;
  guint8 *data = (guint8 *) g_bytes_get_data(enc, &len);
  hv_seal_sign(data, len, w->device_sk);
  return enc;
}

static void
sink_fail(HvVaultWriter *w, Sink *s, const char *what, const char *why)
{
  if (s->failed)
    return;
  s->failed = TRUE;
  g_set_error(&s->error, HV_VAULT_ERROR, HV_VAULT_ERROR_IO, "%s: %s: %s", s->dir, what, why);
  /* Best effort: cut back to the last durable checkpoint, make the cut
   * durable, then seal IO_FAILED: a seal must never reach the disk before the
   * truncation it describes. If any step fails, recovery seals the directory
   * INTERRUPTED later. */
  if (ftruncate(s->rec_fd, (off_t) w->committed.data_end) == 0 &&
      ftruncate(s->idx_fd, (off_t) (w->n_checkpoints * HV_CHECKPOINT_SIZE)) == 0 &&
      fsync(s->rec_fd) == 0 && fsync(s->idx_fd) == 0) {
    g_autofree char *reason = g_strdup_printf("storage failure: %s: %s", what, why);
    g_autoptr(GBytes) seal = build_seal(w, &w->committed, HV_STATUS_IO_FAILED, reason);
    if (!hv_file_write_atomic(s->dir, HV_FILE_SEAL, g_bytes_get_data(seal, NULL),
                              g_bytes_get_size(seal), 0640, NULL))
      g_debug("%s: IO_FAILED seal not written; recovery will seal it", s->dir);
  }
}

gboolean
hv_vault_writer_pop_failure(HvVaultWriter *w, char **ret_dir, GError **ret_error)
{
  for (guint i = 0; i < w->sinks->len; i++) {
    Sink *s = w->sinks->pdata[i];
    if (s->failed && !s->reported) {
      s->reported = TRUE;
      *ret_dir = g_strdup(s->dir);
      *ret_error = g_error_copy(s->error);
      return TRUE;
    }
  }
  return FALSE;
}

guint
hv_vault_writer_n_sinks(HvVaultWriter *w)
{
  return w->sinks->len;
}

const char *
hv_vault_writer_sink_dir(HvVaultWriter *w, guint i, gboolean *ret_healthy)
{
  g_return_val_if_fail(i < w->sinks->len, NULL);
  Sink *s = w->sinks->pdata[i];
  if (ret_healthy)
    *ret_healthy = !s->failed;
  return s->dir;
}

void
hv_vault_writer_retire_sink(HvVaultWriter *w, guint i, const char *what, const char *why)
{
  g_return_if_fail(i < w->sinks->len);
  sink_fail(w, w->sinks->pdata[i], what, why);
}

guint
hv_vault_writer_healthy_sinks(HvVaultWriter *w)
{
  guint n = 0;
  for (guint i = 0; i < w->sinks->len; i++)
    n += !((Sink *) w->sinks->pdata[i])->failed;
  return n;
}

static gboolean
check_alive(HvVaultWriter *w, GError **error)
{
  if (hv_vault_writer_healthy_sinks(w) > 0)
    return TRUE;
  Sink *first = w->sinks->pdata[0];
  g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_IO, "no storage left for the session: %s",
              first->error ? first->error->message : "all storage failed");
  return FALSE;
}

/* ---- records ---- */

static gboolean
emit_record(HvVaultWriter *w, guint16 type, guint16 flags, const guint8 *payload, gsize len,
            GError **error)
{
  HvRecordHeader rh = {
    .type = type, .flags = flags, .index = w->cur.count,
    .mono_us = (guint64) g_get_monotonic_time(), .wall_us = g_get_real_time(), .length = (guint32) len,
  };
  hv_record_header_encode(&rh, w->record);
  if (payload != w->record + HV_RECORD_HEADER_SIZE)
    memcpy(w->record + HV_RECORD_HEADER_SIZE, payload, len);
  hv_chain_step(w->cur.head, w->session_id, w->record, w->record + HV_RECORD_HEADER_SIZE, len);

  for (guint i = 0; i < w->sinks->len; i++) {
    Sink *s = w->sinks->pdata[i];
    if (s->failed)
      continue;
    int r = hv_write_all(s->rec_fd, w->record, HV_RECORD_HEADER_SIZE + len);
    if (r < 0)
      sink_fail(w, s, "writing records", g_strerror(-r));
  }
  if (w->cur.count == 0)
    w->start_wall_us = rh.wall_us;
  w->cur.count++;
  w->cur.data_end += HV_RECORD_HEADER_SIZE + len;
  w->cur.media_count += type == HV_RECORD_MEDIA;
  w->cur.marker_count += type == HV_EVENT_MARKER;
  w->cur.end_wall_us = rh.wall_us;
  w->cur.end_mono_us = rh.mono_us;
  return check_alive(w, error);
}

/* Encrypt the pending chunk into a media record. Every chunk is pushed with
 * TAG_REKEY (the last one with TAG_FINAL, which rekeys too): once a chunk is
 * encrypted, the stream state no longer holds a key that opens it, so the
 * state at any group commit opens nothing already committed (FORMAT.md §6). */
static gboolean
flush_media(HvVaultWriter *w, gboolean final, GError **error)
{
  if (w->pending_len == 0 && !final)
    return TRUE;
  unsigned long long clen = 0;
  guint8 tag = final ? crypto_secretstream_xchacha20poly1305_TAG_FINAL
                     : crypto_secretstream_xchacha20poly1305_TAG_REKEY;
  crypto_secretstream_xchacha20poly1305_push(w->ss, w->record + HV_RECORD_HEADER_SIZE, &clen,
                                             w->pending, w->pending_len, NULL, 0, tag);
  sodium_memzero(w->pending, w->pending_len);
  w->pending_len = 0;
  if (final)
    w->final_written = TRUE;
  return emit_record(w, HV_RECORD_MEDIA, final ? HV_RECORD_FLAG_FINAL : 0,
                     w->record + HV_RECORD_HEADER_SIZE, (gsize) clen, error);
}

gboolean
hv_vault_writer_append_media(HvVaultWriter *w, const guint8 *data, gsize len, GError **error)
{
  g_return_val_if_fail(!w->finished && !w->final_written, FALSE);
  while (len > 0) {
    gsize n = MIN(len, w->chunk_max - w->pending_len);
    memcpy(w->pending + w->pending_len, data, n);
    w->pending_len += n;
    data += n;
    len -= n;
    if (w->pending_len == w->chunk_max && !flush_media(w, FALSE, error))
      return FALSE;
  }
  return check_alive(w, error);
}

gboolean
hv_vault_writer_append_event(HvVaultWriter *w, HvRecordType type, const char *text, GError **error)
{
  g_return_val_if_fail(!w->finished && hv_record_type_is_event(type), FALSE);
  gsize len = text ? strlen(text) : 0;
  if (len > HV_EVENT_MAX) {
    g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_MALFORMED,
                "event text is %zu bytes, more than %u", len, HV_EVENT_MAX);
    return FALSE;
  }
  if (!flush_media(w, FALSE, error))
    return FALSE;
  return emit_record(w, type, 0, (const guint8 *) (text ? text : ""), len, error);
}

gboolean
hv_vault_writer_commit(HvVaultWriter *w, GError **error)
{
  g_return_val_if_fail(!w->finished, FALSE);
  if (!flush_media(w, FALSE, error))
    return FALSE;
  if (w->cur.count == w->committed.count)
    return check_alive(w, error);

  HvCheckpoint cp = {
    .count = w->cur.count, .data_end = w->cur.data_end,
    .mono_us = (guint64) g_get_monotonic_time(), .wall_us = g_get_real_time(),
  };
  memcpy(cp.head, w->cur.head, HV_HASH_SIZE);
  guint8 enc[HV_CHECKPOINT_SIZE];
  hv_checkpoint_encode(&cp, enc);
  hv_checkpoint_sign(enc, w->session_id, w->device_sk);

  for (guint i = 0; i < w->sinks->len; i++) {
    Sink *s = w->sinks->pdata[i];
    if (s->failed)
      continue;
    if (!w->no_sync && fsync(s->rec_fd) < 0) {
      sink_fail(w, s, "syncing records", g_strerror(errno));
      continue;
    }
    int r = hv_write_all(s->idx_fd, enc, sizeof enc);
    if (r == 0 && !w->no_sync && fsync(s->idx_fd) < 0)
      r = -errno;
    if (r < 0)
      sink_fail(w, s, "writing the checkpoint index", g_strerror(-r));
  }
  crypto_generichash_update(w->index_hash, enc, sizeof enc);
  w->committed = w->cur;
  w->n_checkpoints++;
  return check_alive(w, error);
}

gboolean
hv_vault_writer_finish(HvVaultWriter *w, HvSealStatus status, const char *reason, GError **error)
{
  g_return_val_if_fail(!w->finished, FALSE);
  if (status == HV_STATUS_COMPLETE && !w->final_written && !flush_media(w, TRUE, error))
    return FALSE;
  if (!hv_vault_writer_commit(w, error))
    return FALSE;
  w->finished = TRUE;

  g_autoptr(GBytes) seal = build_seal(w, &w->cur, status, reason);
  guint sealed = 0;
  for (guint i = 0; i < w->sinks->len; i++) {
    Sink *s = w->sinks->pdata[i];
    if (s->failed)
      continue;
    g_autoptr(GError) local = NULL;
    if (hv_file_write_atomic(s->dir, HV_FILE_SEAL, g_bytes_get_data(seal, NULL),
                             g_bytes_get_size(seal), 0640, &local))
      sealed++;
    else
      sink_fail(w, s, "writing the seal", local->message);
  }
  if (sealed == 0)
    return check_alive(w, error);
  hv_hash(g_bytes_get_data(seal, NULL), g_bytes_get_size(seal), w->seal_hash);
  w->fingerprint = hv_fingerprint_from_seal_hash(w->seal_hash);
  return TRUE;
}

guint64 hv_vault_writer_record_count(HvVaultWriter *w) { return w->cur.count; }
guint64 hv_vault_writer_committed_count(HvVaultWriter *w) { return w->committed.count; }
guint64 hv_vault_writer_committed_media(HvVaultWriter *w) { return w->committed.media_count; }
guint64 hv_vault_writer_bytes(HvVaultWriter *w) { return w->cur.data_end; }
const guint8 *hv_vault_writer_session_id(HvVaultWriter *w) { return w->session_id; }
const guint8 *hv_vault_writer_seal_hash(HvVaultWriter *w) { return w->fingerprint ? w->seal_hash : NULL; }
const char *hv_vault_writer_fingerprint(HvVaultWriter *w) { return w->fingerprint; }

void
hv_vault_writer_copy_stream_state(HvVaultWriter *w,
                                  crypto_secretstream_xchacha20poly1305_state *ret_state)
{
  memcpy(ret_state, w->ss, sizeof *ret_state);
}
