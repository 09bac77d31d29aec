// SPDX-License-Identifier: GPL-2.0-or-later
#include "test-helpers.h"
#include "vault-verify.h"

#include "vault-file.h"

#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

static void
test_roundtrip(Fixture *f, gconstpointer data)
{
  g_autofree char *dir = fixture_session(f, "s", 300000, TRUE);
  g_autoptr(GError) err = NULL;
  g_autoptr(HvVerdict) v = hv_vault_verify(dir, NULL, &err);
  g_assert_no_error(err);
  g_assert_true(v->intact);
  g_assert_null(v->problem);
  g_assert_cmpuint(v->seal.status, ==, HV_STATUS_COMPLETE);
  /* 300000 bytes in 64 KiB chunks, cut at each commit, plus an empty final chunk */
  g_assert_cmpuint(v->media_records, >=, 5);
  g_assert_cmpuint(v->events, ==, 2);
  g_assert_cmpuint(v->media_bytes, ==, 300000 + v->media_records * HV_SS_ABYTES);
  g_assert_cmpstr(v->header.room, ==, "Room 1");
  g_assert_nonnull(v->fingerprint);
  g_assert_cmpuint(strlen(v->fingerprint), ==, 24);
  struct stat st;
  g_autofree char *rec = g_build_filename(dir, HV_FILE_RECORDS, NULL);
  g_assert_cmpint(stat(rec, &st), ==, 0);
  g_assert_cmpuint((guint64) st.st_size, ==, v->seal.data_end);
}

static void
test_event_orders_media(Fixture *f, gconstpointer data)
{
  g_autofree char *dir = g_build_filename(f->dir, "o", NULL);
  const char *dirs[] = { dir, NULL };
  HvWriterParams p = { .device_seq = 1, .device_key = f->device, .recipients = f->recipient,
                       .n_recipients = 1 };
  g_autoptr(GError) err = NULL;
  g_autoptr(HvVaultWriter) w = hv_vault_writer_new(dirs, &p, &err);
  g_assert_no_error(err);
  guint8 buf[100] = { 0 };
  g_assert_true(hv_vault_writer_append_media(w, buf, sizeof buf, &err));
  g_assert_cmpuint(hv_vault_writer_record_count(w), ==, 0); /* still pending */
  g_assert_true(hv_vault_writer_append_event(w, HV_EVENT_MARKER, "m", &err));
  g_assert_cmpuint(hv_vault_writer_record_count(w), ==, 2); /* media flushed first */
  g_assert_true(hv_vault_writer_commit(w, &err));
  g_assert_cmpuint(hv_vault_writer_committed_count(w), ==, 2);
  g_assert_true(hv_vault_writer_commit(w, &err)); /* nothing new: no checkpoint */
  g_autofree char *idx = g_build_filename(dir, HV_FILE_INDEX, NULL);
  struct stat st;
  g_assert_cmpint(stat(idx, &st), ==, 0);
  g_assert_cmpint(st.st_size, ==, HV_CHECKPOINT_SIZE);
}

static void
test_two_roots_identical(Fixture *f, gconstpointer data)
{
  g_autofree char *a = g_build_filename(f->dir, "a", "s", NULL);
  g_autofree char *b = g_build_filename(f->dir, "b", "s", NULL);
  const char *dirs[] = { a, b, NULL };
  HvWriterParams p = { .device_seq = 4, .device_key = f->device, .recipients = f->recipient,
                       .n_recipients = 1 };
  g_autoptr(GError) err = NULL;
  g_autoptr(HvVaultWriter) w = hv_vault_writer_new(dirs, &p, &err);
  g_assert_no_error(err);
  guint8 buf[70000];
  randombytes_buf(buf, sizeof buf);
  g_assert_true(hv_vault_writer_append_media(w, buf, sizeof buf, &err));
  g_assert_true(hv_vault_writer_finish(w, HV_STATUS_COMPLETE, "", &err));
  const char *files[] = { HV_FILE_HEADER, HV_FILE_RECORDS, HV_FILE_INDEX, HV_FILE_SEAL };
  for (guint i = 0; i < G_N_ELEMENTS(files); i++) {
    g_autofree char *pa = g_build_filename(a, files[i], NULL), *pb = g_build_filename(b, files[i], NULL);
    g_autofree char *da = NULL, *db = NULL;
    gsize la, lb;
    g_assert_true(g_file_get_contents(pa, &da, &la, NULL));
    g_assert_true(g_file_get_contents(pb, &db, &lb, NULL));
    g_assert_cmpmem(da, la, db, lb);
  }
}

static void
test_refuses_existing(Fixture *f, gconstpointer data)
{
  g_autofree char *dir = fixture_session(f, "x", 10, TRUE);
  const char *dirs[] = { dir, NULL };
  HvWriterParams p = { .device_seq = 1, .device_key = f->device, .recipients = f->recipient,
                       .n_recipients = 1 };
  g_autoptr(GError) err = NULL;
  g_autoptr(HvVaultWriter) w = hv_vault_writer_new(dirs, &p, &err);
  g_assert_null(w);
  g_assert_error(err, HV_VAULT_ERROR, HV_VAULT_ERROR_EXISTS);
}

static void
test_bad_params(Fixture *f, gconstpointer data)
{
  g_autofree char *dir = g_build_filename(f->dir, "bad", NULL);
  const char *dirs[] = { dir, NULL };
  HvWriterParams p = { .device_seq = 1, .device_key = f->device, .recipients = f->recipient,
                       .n_recipients = 0 };
  g_autoptr(GError) err = NULL;
  g_assert_null(hv_vault_writer_new(dirs, &p, &err));
  g_assert_error(err, HV_VAULT_ERROR, HV_VAULT_ERROR_KEY);
  g_clear_error(&err);
  p.n_recipients = 1;
  p.device_seq = 0;
  g_assert_null(hv_vault_writer_new(dirs, &p, &err));
  g_assert_error(err, HV_VAULT_ERROR, HV_VAULT_ERROR_MALFORMED);
  g_assert_false(g_file_test(dir, G_FILE_TEST_EXISTS));
}

static void
test_unsealed_is_reported(Fixture *f, gconstpointer data)
{
  g_autofree char *dir = fixture_session(f, "u", 200000, FALSE);
  g_autoptr(HvVerdict) v = hv_vault_verify(dir, NULL, NULL);
  g_assert_false(v->intact);
  g_assert_cmpint(v->problem_code, ==, HV_VAULT_ERROR_UNSEALED);
  g_assert_cmpuint(v->good.count, ==, v->records); /* all committed */
}

/* Media records of a session directory: offsets of their ciphertexts. */
static GArray *
media_payloads(const char *dir, GBytes **ret_data)
{
  g_autofree char *path = g_build_filename(dir, HV_FILE_RECORDS, NULL);
  GBytes *bytes = hv_file_read_bounded(path, 1u << 24, NULL);
  g_assert_nonnull(bytes);
  gsize len;
  const guint8 *data = g_bytes_get_data(bytes, &len);
  GArray *out = g_array_new(FALSE, FALSE, sizeof(gsize));
  for (gsize off = 0; off + HV_RECORD_HEADER_SIZE <= len;) {
    HvRecordHeader rh;
    g_assert_true(hv_record_header_decode(data + off, &rh, NULL));
    if (rh.type == HV_RECORD_MEDIA)
      g_array_append_val(out, off);
    off += HV_RECORD_HEADER_SIZE + rh.length;
  }
  *ret_data = bytes;
  return out;
}

/* What a memory dump of the device taken right after a group commit can do
 * with the stream state (FORMAT.md §6). Without rekeying, the key never
 * changes and the nonce evolves by XOR with each chunk's MAC and a counter,
 * so the dump plus the ciphertexts on disk rewinds to any earlier chunk. With
 * TAG_REKEY on every chunk, the key that opened them is gone. */
/* libsodium's secretstream state (crypto_secretstream_xchacha20poly1305.c):
 * k[32], then nonce[12] = 4-byte little-endian counter || 8-byte inonce; each
 * push XORs the first 8 MAC bytes into inonce and increments the counter. */
#define SS_COUNTER_BYTES 4
#define SS_INONCE_BYTES  8

static void
test_dump_opens_nothing_committed(Fixture *f, gconstpointer data)
{
  g_autofree char *dir = g_build_filename(f->dir, "fs", NULL);
  const char *dirs[] = { dir, NULL };
  HvWriterParams p = { .device_seq = 1, .device_key = f->device, .recipients = f->recipient,
                       .n_recipients = 1, .no_sync = TRUE };
  g_autoptr(GError) err = NULL;
  g_autoptr(HvVaultWriter) w = hv_vault_writer_new(dirs, &p, &err);
  g_assert_no_error(err);
  guint8 plain[3][1000];
  for (guint i = 0; i < 3; i++)
    memset(plain[i], 'A' + i, sizeof plain[i]);
  for (guint i = 0; i < 2; i++) {
    g_assert_true(hv_vault_writer_append_media(w, plain[i], sizeof plain[i], &err));
    g_assert_true(hv_vault_writer_commit(w, &err));
  }
  crypto_secretstream_xchacha20poly1305_state dump;
  hv_vault_writer_copy_stream_state(w, &dump);
  /* a chunk pushed after the dump: the dump must be a real state (control) */
  g_assert_true(hv_vault_writer_append_media(w, plain[2], sizeof plain[2], &err));
  g_assert_true(hv_vault_writer_commit(w, &err));
  g_assert_no_error(err);

  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GArray) media = media_payloads(dir, &bytes);
  g_assert_cmpuint(media->len, ==, 3);
  const guint8 *rec = g_bytes_get_data(bytes, NULL);
  const guint8 *ct[3];
  gsize ct_len[3];
  for (guint i = 0; i < 3; i++) {
    gsize off = g_array_index(media, gsize, i);
    ct[i] = rec + off + HV_RECORD_HEADER_SIZE;
    ct_len[i] = hv_get_u32(rec + off + 32);
  }
  guint8 out[1000];
  unsigned long long mlen;
  guint8 tag;
  crypto_secretstream_xchacha20poly1305_state st = dump;
  g_assert_cmpint(crypto_secretstream_xchacha20poly1305_pull(&st, out, &mlen, &tag, ct[2], ct_len[2],
                                                             NULL, 0), ==, 0);
  g_assert_cmpmem(out, mlen, plain[2], sizeof plain[2]);

  /* the committed chunks: neither the dump as is nor the dump rewound opens them */
  for (guint target = 0; target < 2; target++) {
    st = dump;
    g_assert_cmpint(crypto_secretstream_xchacha20poly1305_pull(&st, out, &mlen, &tag, ct[target],
                                                               ct_len[target], NULL, 0), !=, 0);
    st = dump;
    guint8 *inonce = st.nonce + SS_COUNTER_BYTES;
    for (guint j = target; j < 2; j++) {
      const guint8 *mac = ct[j] + ct_len[j] - crypto_onetimeauth_poly1305_BYTES;
      for (guint b = 0; b < SS_INONCE_BYTES; b++)
        inonce[b] ^= mac[b];
    }
    memset(st.nonce, 0, SS_COUNTER_BYTES);
    st.nonce[0] = (guint8) (target + 1); /* the counter starts at 1 */
    g_assert_cmpint(crypto_secretstream_xchacha20poly1305_pull(&st, out, &mlen, &tag, ct[target],
                                                               ct_len[target], NULL, 0), !=, 0);
  }
  sodium_memzero(&dump, sizeof dump);
  sodium_memzero(&st, sizeof st);
}

/* A storage write failure mid-session (injected with RLIMIT_FSIZE: writes past
 * the limit fail with EFBIG) cuts the directory back to its last checkpoint
 * and seals it IO_FAILED; that seal verifies, checkpoint list included. */
static void
test_write_failure_seals_io_failed(Fixture *f, gconstpointer data)
{
  g_autofree char *dir = g_build_filename(f->dir, "io", NULL);
  const char *dirs[] = { dir, NULL };
  HvWriterParams p = { .device_seq = 1, .device_key = f->device, .recipients = f->recipient,
                       .n_recipients = 1 };
  g_autoptr(GError) err = NULL;
  g_autoptr(HvVaultWriter) w = hv_vault_writer_new(dirs, &p, &err);
  g_assert_no_error(err);
  guint8 buf[10000];
  randombytes_buf(buf, sizeof buf);
  for (guint i = 0; i < 3; i++) {
    g_assert_true(hv_vault_writer_append_media(w, buf, sizeof buf, &err));
    g_assert_true(hv_vault_writer_commit(w, &err));
  }
  guint64 committed = hv_vault_writer_committed_count(w);
  g_assert_cmpuint(committed, ==, 3);

  struct rlimit old, lim;
  g_assert_cmpint(getrlimit(RLIMIT_FSIZE, &old), ==, 0);
  lim = old;
  lim.rlim_cur = hv_vault_writer_bytes(w) + 20000;
  void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
  g_assert_cmpint(setrlimit(RLIMIT_FSIZE, &lim), ==, 0);
  gboolean ok = TRUE;
  for (guint i = 0; i < 10 && ok; i++)
    ok = hv_vault_writer_append_media(w, buf, sizeof buf, &err);
  g_assert_cmpint(setrlimit(RLIMIT_FSIZE, &old), ==, 0);
  signal(SIGXFSZ, old_handler);

  g_assert_false(ok);
  g_assert_error(err, HV_VAULT_ERROR, HV_VAULT_ERROR_IO);
  g_autofree char *failed_dir = NULL;
  g_autoptr(GError) why = NULL;
  g_assert_true(hv_vault_writer_pop_failure(w, &failed_dir, &why));
  g_assert_cmpstr(failed_dir, ==, dir);

  g_autoptr(HvVerdict) v = hv_vault_verify(dir, NULL, NULL);
  g_assert_null(v->problem);
  g_assert_true(v->intact);
  g_assert_cmpuint(v->seal.status, ==, HV_STATUS_IO_FAILED);
  g_assert_cmpuint(v->seal.record_count, ==, committed);
  g_assert_cmpuint(v->seal.checkpoint_count, ==, 3);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
#define ADD(path, fn) g_test_add(path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD("/vault-writer/roundtrip", test_roundtrip);
  ADD("/vault-writer/event-orders-media", test_event_orders_media);
  ADD("/vault-writer/two-roots-identical", test_two_roots_identical);
  ADD("/vault-writer/refuses-existing", test_refuses_existing);
  ADD("/vault-writer/bad-params", test_bad_params);
  ADD("/vault-writer/unsealed", test_unsealed_is_reported);
  ADD("/vault-writer/dump-opens-nothing-committed", test_dump_opens_nothing_committed);
  ADD("/vault-writer/write-failure-seals-io-failed", test_write_failure_seals_io_failed);
  return g_test_run();
}
