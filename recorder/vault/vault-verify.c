// SPDX-License-Identifier: GPL-2.0-or-later
#define G_LOG_DOMAIN "haven-vault"
#include "vault-verify.h"
#include "vault-file.h"
#include "vault-keys.h"
#include "vault-ledger.h"
#include "vault-reader.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define READ_BUFFER (1u << 20)

void
hv_verdict_free(HvVerdict *v)
{
  if (!v)
    return;
  g_free(v->dir);
  g_free(v->problem);
  g_free(v->fingerprint);
  if (v->unrecorded)
    g_array_unref(v->unrecorded);
  g_free(v);
}

static gboolean problem(HvVerdict *v, gint code, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

/* Record the first problem; always returns FALSE so callers can `return problem(...)`. */
static gboolean
problem(HvVerdict *v, gint code, const char *fmt, ...)
{
  if (v->problem)
    return FALSE;
  va_list ap;
  va_start(ap, fmt);
  v->problem = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  v->problem_code = code;
  v->intact = FALSE;
  return FALSE;
}

gboolean
hv_vault_is_session_dir(const char *dir)
{
  static const char *names[] = { HV_FILE_HEADER, HV_FILE_RECORDS, HV_FILE_INDEX, HV_FILE_SEAL };
  for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
    g_autofree char *p = g_build_filename(dir, names[i], NULL);
    if (g_file_test(p, G_FILE_TEST_EXISTS) || g_file_test(p, G_FILE_TEST_IS_SYMLINK))
      return TRUE;
  }
  return FALSE;
}

static void
find_rec(const char *path, guint depth, GPtrArray *out)
{
  if (hv_vault_is_session_dir(path)) {
    g_ptr_array_add(out, g_strdup(path));
    return;
  }
  if (depth == 0)
    return;
  g_autoptr(GDir) d = g_dir_open(path, 0, NULL);
  if (!d)
    return;
  const char *name;
  while ((name = g_dir_read_name(d))) {
    g_autofree char *child = g_build_filename(path, name, NULL);
    if (g_file_test(child, G_FILE_TEST_IS_DIR) && !g_file_test(child, G_FILE_TEST_IS_SYMLINK))
      find_rec(child, depth - 1, out);
  }
}

static gint
compare_strings(gconstpointer a, gconstpointer b)
{
  return g_strcmp0(*(char *const *) a, *(char *const *) b);
}

GPtrArray *
hv_vault_find_sessions(const char *path, GError **error)
{
  if (!g_file_test(path, G_FILE_TEST_IS_DIR)) {
    g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_IO, "%s: %s", path,
                g_file_test(path, G_FILE_TEST_EXISTS) ? "not a directory" : "no such directory");
    return NULL;
  }
  GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
  find_rec(path, 3, out);
  g_ptr_array_sort(out, compare_strings);
  return out;
}

/* ---- parts ---- */

static gboolean
check_header(HvVerdict *v, const HvVerifyOptions *opts, guint8 header_hash[HV_HASH_SIZE])
{
  g_autofree char *path = g_build_filename(v->dir, HV_FILE_HEADER, NULL);
  g_autoptr(GError) err = NULL;
  g_autoptr(GBytes) bytes = hv_file_read_bounded(path, HV_HEADER_MAX_SIZE, &err);
  if (!bytes)
    return problem(v, HV_VAULT_ERROR_MALFORMED, "%s: %s", HV_FILE_HEADER,
                   g_file_test(path, G_FILE_TEST_EXISTS) || g_file_test(path, G_FILE_TEST_IS_SYMLINK)
                     ? err->message : "missing");
  gsize len;
  const guint8 *data = g_bytes_get_data(bytes, &len);
  if (!hv_header_decode(data, len, &v->header, &err))
    return problem(v, err->code, "%s: %s", HV_FILE_HEADER, err->message);
  if (!hv_header_verify_signature(data, len, v->header.device_pk))
    return problem(v, HV_VAULT_ERROR_SIGNATURE, "%s: device signature does not verify (header altered)",
                   HV_FILE_HEADER);
  if (opts->expected_device_pk &&
      sodium_memcmp(opts->expected_device_pk, v->header.device_pk, HV_DEVICE_PK_SIZE) != 0) {
    g_autofree char *got = hv_key_id(v->header.device_pk, HV_DEVICE_PK_SIZE);
    g_autofree char *want = hv_key_id(opts->expected_device_pk, HV_DEVICE_PK_SIZE);
    return problem(v, HV_VAULT_ERROR_SIGNATURE,
                   "%s: signed by device key %s, not the expected device key %s",
                   HV_FILE_HEADER, got, want);
  }
  v->have_header = TRUE;
  hv_hash(data, len, header_hash);
  return TRUE;
}

static gboolean
check_seal(HvVerdict *v, const guint8 header_hash[HV_HASH_SIZE])
{
  g_autofree char *path = g_build_filename(v->dir, HV_FILE_SEAL, NULL);
  if (!g_file_test(path, G_FILE_TEST_EXISTS) && !g_file_test(path, G_FILE_TEST_IS_SYMLINK))
    return problem(v, HV_VAULT_ERROR_UNSEALED,
                   "%s: missing: the session was never sealed (still recording, or crashed and "
                   "not yet recovered with 'haven recover')", HV_FILE_SEAL);
  g_autoptr(GError) err = NULL;
  g_autoptr(GBytes) bytes = hv_file_read_bounded(path, HV_SEAL_MAX_SIZE, &err);
  if (!bytes)
    return problem(v, HV_VAULT_ERROR_MALFORMED, "%s: %s", HV_FILE_SEAL, err->message);
  gsize len;
  const guint8 *data = g_bytes_get_data(bytes, &len);
  if (!hv_seal_decode(data, len, &v->seal, &err))
    return problem(v, err->code, "%s: %s", HV_FILE_SEAL, err->message);
  if (!hv_seal_verify_signature(data, len, v->header.device_pk))
    return problem(v, HV_VAULT_ERROR_SIGNATURE, "%s: device signature does not verify (seal altered "
                   "or signed by another device)", HV_FILE_SEAL);
  if (memcmp(v->seal.session_id, v->header.session_id, HV_SESSION_ID_SIZE) != 0)
    return problem(v, HV_VAULT_ERROR_MISMATCH, "%s and %s belong to different sessions (one was swapped)",
                   HV_FILE_SEAL, HV_FILE_HEADER);
  if (memcmp(v->seal.header_hash, header_hash, HV_HASH_SIZE) != 0 ||
      v->seal.device_seq != v->header.device_seq)
    return problem(v, HV_VAULT_ERROR_MISMATCH, "%s: does not match this session's header",
                   HV_FILE_SEAL);
  v->have_seal = TRUE;
  hv_hash(data, len, v->seal_hash);
  v->fingerprint = hv_fingerprint_from_seal_hash(v->seal_hash);
  return TRUE;
}

typedef struct {
  FILE   *fp;
  guint64 n;          /* checkpoints read */
  gboolean have;
  HvCheckpoint cur;
  guint64 last_count;
  crypto_generichash_state hash; /* H over the checkpoints read, for the seal's index_hash */
} IndexReader;

/* Advance to the next checkpoint; FALSE with a problem when it is damaged. */
static gboolean
index_next(HvVerdict *v, IndexReader *ir)
{
  guint8 buf[HV_CHECKPOINT_SIZE];
  size_t got = fread(buf, 1, sizeof buf, ir->fp);
  ir->have = FALSE;
  if (got == 0 && feof(ir->fp))
    return TRUE;
  if (got != sizeof buf)
    return problem(v, HV_VAULT_ERROR_TRUNCATED, "%s: checkpoint %" G_GUINT64_FORMAT
                   " is cut short (%zu of %u bytes)", HV_FILE_INDEX, ir->n + 1, got, HV_CHECKPOINT_SIZE);
  g_autoptr(GError) err = NULL;
  crypto_generichash_update(&ir->hash, buf, sizeof buf);
  if (!hv_checkpoint_decode(buf, &ir->cur, &err))
    return problem(v, err->code, "%s: checkpoint %" G_GUINT64_FORMAT ": %s", HV_FILE_INDEX, ir->n + 1,
                   err->message);
  if (!hv_checkpoint_verify_signature(buf, v->header.session_id, v->header.device_pk))
    return problem(v, HV_VAULT_ERROR_SIGNATURE, "%s: checkpoint %" G_GUINT64_FORMAT
                   ": device signature does not verify (altered, or from another session)",
                   HV_FILE_INDEX, ir->n + 1);
  if (ir->cur.count <= ir->last_count)
    return problem(v, HV_VAULT_ERROR_CHAIN, "%s: checkpoint %" G_GUINT64_FORMAT " covers %"
                   G_GUINT64_FORMAT " records, not more than the one before (reordered?)",
                   HV_FILE_INDEX, ir->n + 1, ir->cur.count);
  ir->n++;
  ir->last_count = ir->cur.count;
  ir->have = TRUE;
  v->checkpoints = ir->n;
  return TRUE;
}

static FILE *
open_part(HvVerdict *v, const char *name)
{
  g_autofree char *path = g_build_filename(v->dir, name, NULL);
  g_autoptr(GError) err = NULL;
  int fd = hv_open_regular(path, &err);
  if (fd < 0) {
    problem(v, HV_VAULT_ERROR_MALFORMED, "%s: %s", name,
            g_file_test(path, G_FILE_TEST_EXISTS) || g_file_test(path, G_FILE_TEST_IS_SYMLINK)
              ? err->message : "missing");
    return NULL;
  }
  (void) posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  FILE *fp = fdopen(fd, "rb");
  setvbuf(fp, NULL, _IOFBF, READ_BUFFER);
  return fp;
}

typedef struct {
  HvVerdict *v;
  const HvVerifyOptions *opts;
  IndexReader ir;
  guint8  head[HV_HASH_SIZE];
  guint64 offset;
  guint64 total;
  gboolean final_seen;
  gboolean start_seen;
  guint64 last_media_mono;
} Scan;

/* Compare a checkpoint that the chain just reached. */
static gboolean
check_checkpoint(Scan *sc)
{
  HvVerdict *v = sc->v;
  if (sc->ir.cur.data_end != sc->offset || sodium_memcmp(sc->ir.cur.head, sc->head, HV_HASH_SIZE) != 0)
    return problem(v, HV_VAULT_ERROR_CHAIN, "%s: records up to record %" G_GUINT64_FORMAT
                   " do not match signed checkpoint %" G_GUINT64_FORMAT
                   " (a record was changed, removed, inserted or reordered)",
                   HV_FILE_RECORDS, v->records - 1, sc->ir.n);
  v->good = (HvGoodPrefix) {
    .checkpoints = sc->ir.n, .count = v->records, .data_end = sc->offset,
    .media_count = v->media_records, .marker_count = v->markers,
    .first_wall_us = v->first_wall_us, .last_wall_us = v->last_wall_us,
    .last_mono_us = v->last_mono_us,
  };
  memcpy(v->good.head, sc->head, HV_HASH_SIZE);
  return index_next(v, &sc->ir);
}

static gboolean
scan_one(Scan *sc, HvRecordReader *rd)
{
  HvVerdict *v = sc->v;
  g_autoptr(GError) err = NULL;
  HvRecordHeader rh;
  guint64 n = v->records;
  HvRecordRead rec;

  hv_record_reader_next(rd, &rec);
  const guint8 *hdr = rec.header, *payload = rec.payload;
  if (rec.header_got != HV_RECORD_HEADER_SIZE)
    return problem(v, HV_VAULT_ERROR_TRUNCATED, "%s: record %" G_GUINT64_FORMAT " at offset %"
                   G_GUINT64_FORMAT ": file ends inside the record header", HV_FILE_RECORDS, n, sc->offset);
  if (!hv_record_header_decode(hdr, &rh, &err))
    return problem(v, err->code, "%s: record %" G_GUINT64_FORMAT " at offset %" G_GUINT64_FORMAT ": %s",
                   HV_FILE_RECORDS, n, sc->offset, err->message);
  if (rh.index != n)
    return problem(v, HV_VAULT_ERROR_CHAIN, "%s: record at offset %" G_GUINT64_FORMAT " has index %"
                   G_GUINT64_FORMAT ", expected %" G_GUINT64_FORMAT " (reordered, duplicated, removed "
                   "or inserted)", HV_FILE_RECORDS, sc->offset, rh.index, n);
  if (rec.payload_got != rh.length)
    return problem(v, HV_VAULT_ERROR_TRUNCATED, "%s: record %" G_GUINT64_FORMAT " at offset %"
                   G_GUINT64_FORMAT ": file ends inside the %u-byte payload", HV_FILE_RECORDS, n,
                   sc->offset, rh.length);
  if (n > 0 && rh.mono_us < v->last_mono_us)
    return problem(v, HV_VAULT_ERROR_CHAIN, "%s: record %" G_GUINT64_FORMAT
                   ": monotonic time goes backwards", HV_FILE_RECORDS, n);
  g_assert(rec.have_leaf);   /* the reader hashes every record whose header decodes and payload is whole */
  hv_chain_fold(sc->head, rec.leaf);
  sc->offset += HV_RECORD_HEADER_SIZE + rh.length;
  v->records++;

  if (rh.type == HV_RECORD_MEDIA) {
    if (rh.length > v->header.chunk_max + HV_SS_ABYTES)
      return problem(v, HV_VAULT_ERROR_MALFORMED, "%s: record %" G_GUINT64_FORMAT ": media payload of %u "
                     "bytes is larger than the header's chunk_max %u + %u", HV_FILE_RECORDS, n,
                     rh.length, v->header.chunk_max, HV_SS_ABYTES);
    if (sc->final_seen)
      return problem(v, HV_VAULT_ERROR_CHAIN, "%s: record %" G_GUINT64_FORMAT
                     ": media after the final chunk (two final chunks?)", HV_FILE_RECORDS, n);
    sc->final_seen = (rh.flags & HV_RECORD_FLAG_FINAL) != 0;
    if (v->media_records > 0)
      v->max_media_gap_us = MAX(v->max_media_gap_us, rh.mono_us - sc->last_media_mono);
    sc->last_media_mono = rh.mono_us;
    v->media_records++;
    v->media_bytes += rh.length;
  } else {
    if (rh.type == HV_EVENT_START && !sc->start_seen) {
      sc->start_seen = TRUE;
      g_autofree char *text = g_strndup((const char *) payload, rh.length);
      v->unrecorded = hv_ledger_parse_unrecorded(text);
    }
    v->events++;
    v->markers += rh.type == HV_EVENT_MARKER;
  }
  if (n == 0) {
    v->first_wall_us = rh.wall_us;
    v->first_mono_us = rh.mono_us;
  }
  v->last_wall_us = rh.wall_us;
  v->last_mono_us = rh.mono_us;

  if (sc->opts->on_record && !sc->opts->on_record(&rh, payload, sc->opts->user_data, &err))
    return problem(v, err->code, "%s: record %" G_GUINT64_FORMAT ": %s", HV_FILE_RECORDS, n,
                   err->message);
  if (sc->ir.have && sc->ir.cur.count == v->records && !check_checkpoint(sc))
    return FALSE;
  if (sc->opts->on_progress && (v->records & 63) == 0)
    sc->opts->on_progress(sc->offset, sc->total, sc->opts->user_data);
  return TRUE;
}

/* The seal binds the whole checkpoint list (FORMAT.md §7): a checkpoint
 * dropped, duplicated, reordered or replaced changes the count or the hash. */
static gboolean
check_index_binding(HvVerdict *v, IndexReader *ir)
{
  guint8 got[HV_HASH_SIZE];
  crypto_generichash_final(&ir->hash, got, sizeof got);
  if (ir->n != v->seal.checkpoint_count)
    return problem(v, HV_VAULT_ERROR_CHAIN, "%s: %" G_GUINT64_FORMAT " checkpoints, the seal %"
                   G_GUINT64_FORMAT " (checkpoints removed or added after sealing)", HV_FILE_INDEX,
                   ir->n, v->seal.checkpoint_count);
  if (sodium_memcmp(got, v->seal.index_hash, HV_HASH_SIZE) != 0)
    return problem(v, HV_VAULT_ERROR_CHAIN, "%s: checkpoints differ from the ones the seal binds "
                   "(index_hash; checkpoints replaced or reordered)", HV_FILE_INDEX);
  return TRUE;
}

/* FORMAT.md §7: the seal's times are those of its first and last records. */
static gboolean
check_seal_times(HvVerdict *v)
{
  gboolean none = v->records == 0;
  gint64 start = none ? 0 : v->first_wall_us, end = none ? 0 : v->last_wall_us;
  guint64 end_mono = none ? 0 : v->last_mono_us;
  if (v->seal.start_wall_us != start || v->seal.end_wall_us != end || v->seal.end_mono_us != end_mono)
    return problem(v, HV_VAULT_ERROR_CHAIN, "%s: start/end times (wall %" G_GINT64_FORMAT "..%"
                   G_GINT64_FORMAT ", monotonic end %" G_GUINT64_FORMAT ") differ from the first and "
                   "last records' (%" G_GINT64_FORMAT "..%" G_GINT64_FORMAT ", %" G_GUINT64_FORMAT ")",
                   HV_FILE_SEAL, v->seal.start_wall_us, v->seal.end_wall_us, v->seal.end_mono_us,
                   start, end, end_mono);
  return TRUE;
}

static gboolean
scan_records(HvVerdict *v, const HvVerifyOptions *opts, const guint8 header_hash[HV_HASH_SIZE])
{
  Scan sc = { .v = v, .opts = opts };
  FILE *idx = open_part(v, HV_FILE_INDEX);
  if (!idx)
    return FALSE;
  FILE *rec = open_part(v, HV_FILE_RECORDS);   /* read through its fd by the record reader */
  if (!rec) {
    fclose(idx);
    return FALSE;
  }
  struct stat st;
  sc.total = fstat(fileno(rec), &st) == 0 ? (guint64) st.st_size : 0;
  sc.ir.fp = idx;
  crypto_generichash_init(&sc.ir.hash, NULL, 0, HV_HASH_SIZE);
  hv_chain_init(header_hash, sc.head);
  memcpy(v->good.head, sc.head, HV_HASH_SIZE);

  /* A sealed session's extent is what its seal says; an unsealed one's is the file. */
  guint64 limit = v->have_seal ? v->seal.record_count : G_MAXUINT64;
  HvRecordReader *rd = hv_record_reader_new(fileno(rec), v->header.session_id, limit,
                                            v->have_seal ? G_MAXUINT64 : sc.total,
                                            opts->threads < 0 ? 0 : (guint) MAX(opts->threads, 1));
  gboolean ok = index_next(v, &sc.ir);
  while (ok && v->records < limit) {
    if (!v->have_seal && sc.offset >= sc.total)
      break;
    ok = scan_one(&sc, rd);
  }
  hv_record_reader_free(rd);

  if (ok && sc.ir.have)
    ok = problem(v, HV_VAULT_ERROR_CHAIN, "%s: checkpoint %" G_GUINT64_FORMAT " covers %"
                 G_GUINT64_FORMAT " records but only %" G_GUINT64_FORMAT " are sealed or present "
                 "(records lost, or index from another session)", HV_FILE_INDEX, sc.ir.n,
                 sc.ir.cur.count, v->records);
  if (ok && v->have_seal) {
    if (sc.ir.last_count != v->seal.record_count)
      ok = problem(v, HV_VAULT_ERROR_CHAIN, "%s: last checkpoint covers %" G_GUINT64_FORMAT
                   " records, the seal %" G_GUINT64_FORMAT, HV_FILE_INDEX, sc.ir.last_count,
                   v->seal.record_count);
    else if (!check_index_binding(sc.v, &sc.ir))
      ok = FALSE;
    else if (sodium_memcmp(sc.head, v->seal.head, HV_HASH_SIZE) != 0 || sc.offset != v->seal.data_end)
      ok = problem(v, HV_VAULT_ERROR_CHAIN, "%s: records do not match the seal", HV_FILE_RECORDS);
    else if (sc.total != sc.offset)
      ok = problem(v, HV_VAULT_ERROR_CHAIN, "%s: %" G_GUINT64_FORMAT " bytes after the last sealed "
                   "record (data appended after sealing)", HV_FILE_RECORDS, sc.total - sc.offset);
    else if (v->media_records != v->seal.media_count || v->markers != v->seal.marker_count)
      ok = problem(v, HV_VAULT_ERROR_CHAIN, "%s: media or marker count differs from the seal",
                   HV_FILE_SEAL);
    else if (v->seal.status == HV_STATUS_COMPLETE && !sc.final_seen)
      ok = problem(v, HV_VAULT_ERROR_CHAIN, "%s: sealed COMPLETE but the final media chunk is missing",
                   HV_FILE_RECORDS);
    else
      ok = check_seal_times(v);
  }
  if (ok && !feof(idx)) {
    int c = fgetc(idx);
    if (c != EOF)
      ok = problem(v, HV_VAULT_ERROR_CHAIN, "%s: data after the last checkpoint", HV_FILE_INDEX);
  }
  if (opts->on_progress)
    opts->on_progress(sc.offset, sc.total, opts->user_data);
  fclose(idx);
  fclose(rec);
  return ok;
}

gboolean
hv_vault_read_header(const char *dir, const guint8 *expected_device_pk, HvHeader *ret_header, GError **error)
{
  HvVerifyOptions opts = { .expected_device_pk = expected_device_pk };
  g_autoptr(HvVerdict) v = g_new0(HvVerdict, 1);
  v->dir = g_strdup(dir);
  guint8 header_hash[HV_HASH_SIZE];
  if (!check_header(v, &opts, header_hash)) {
    g_set_error(error, HV_VAULT_ERROR, v->problem_code, "%s: %s", dir, v->problem);
    return FALSE;
  }
  *ret_header = v->header;
  return TRUE;
}

HvVerdict *
hv_vault_verify(const char *dir, const HvVerifyOptions *opts, GError **error)
{
  static const HvVerifyOptions none = { 0 };
  if (!g_file_test(dir, G_FILE_TEST_IS_DIR)) {
    g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_IO, "%s: not a directory", dir);
    return NULL;
  }
  if (!opts)
    opts = &none;
  g_autoptr(HvVerdict) v = g_new0(HvVerdict, 1);
  v->dir = g_strdup(dir);
  v->intact = TRUE;

  guint8 header_hash[HV_HASH_SIZE];
  if (!check_header(v, opts, header_hash))
    return g_steal_pointer(&v);
  if (!check_seal(v, header_hash) && v->problem_code != HV_VAULT_ERROR_UNSEALED)
    return g_steal_pointer(&v);
  /* An unsealed session is still scanned so that its counts can be shown. */
  (void) scan_records(v, opts, header_hash);
  return g_steal_pointer(&v);
}
