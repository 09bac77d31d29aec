// SPDX-License-Identifier: GPL-2.0-or-later
#include "test-helpers.h"
#include "vault-decrypt.h"
#include "vault-file.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static void
test_decrypts_everything(Fixture *f, gconstpointer data)
{
  g_autofree char *dir = fixture_session(f, "s", 250000, TRUE);
  g_autoptr(HvVerdict) v = hv_vault_verify(dir, NULL, NULL);
  g_assert_true(v->intact);
  g_autofree char *out = g_build_filename(f->dir, "out.bin", NULL);
  int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  g_autoptr(GError) err = NULL;
  g_autoptr(HvDecryptor) d = hv_decryptor_new(&v->header, f->identity, fd, &err);
  g_assert_no_error(err);
  HvVerifyOptions o = { .on_record = hv_decryptor_on_record, .user_data = d };
  g_autoptr(HvVerdict) v2 = hv_vault_verify(dir, &o, NULL);
  close(fd);
  g_assert_true(v2->intact);
  g_assert_true(hv_decryptor_saw_final(d));
  g_assert_cmpuint(hv_decryptor_plain_bytes(d), ==, 250000);
}

static void
test_wrong_identity(Fixture *f, gconstpointer data)
{
  g_autofree char *dir = fixture_session(f, "s", 1000, TRUE);
  g_autoptr(HvVerdict) v = hv_vault_verify(dir, NULL, NULL);
  g_autofree char *prefix = g_build_filename(f->dir, "other", NULL);
  g_autofree char *key = NULL;
  g_assert_true(hv_custodian_keygen(prefix, NULL, &key, NULL));
  g_autoptr(HvIdentity) other = hv_identity_load(key, NULL);
  g_autoptr(GError) err = NULL;
  g_assert_null(hv_decryptor_new(&v->header, other, -1, &err));
  g_assert_error(err, HV_VAULT_ERROR, HV_VAULT_ERROR_KEY);
}

/* A device that wraps a different key for a recipient (and signs that header)
 * is caught by the key commitment: verify cannot see it, export must. */
static void
test_commitment_mismatch(Fixture *f, gconstpointer data)
{
  g_autofree char *dir = fixture_session(f, "s", 1000, TRUE);
  g_autofree char *hpath = g_build_filename(dir, HV_FILE_HEADER, NULL);
  g_autoptr(GBytes) b = hv_file_read_bounded(hpath, HV_HEADER_MAX_SIZE, NULL);
  HvHeader h;
  g_assert_true(hv_header_decode(g_bytes_get_data(b, NULL), g_bytes_get_size(b), &h, NULL));
  guint8 other_key[HV_SS_KEY_SIZE];
  randombytes_buf(other_key, sizeof other_key);
  crypto_box_seal(h.recipients[0].sealed_key, other_key, sizeof other_key, f->recipient);
  g_autoptr(GBytes) enc = hv_header_encode(&h);
  gsize len;
  guint8 *p = (guint8 *) g_bytes_get_data(enc, &len);
  hv_header_sign(p, len, f->device->sk);
  HvHeader h2;
  g_assert_true(hv_header_decode(p, len, &h2, NULL));
  g_autoptr(GError) err = NULL;
  g_assert_null(hv_decryptor_new(&h2, f->identity, -1, &err));
  g_assert_error(err, HV_VAULT_ERROR, HV_VAULT_ERROR_COMMITMENT);
}

/* Many group commits (each chunk rekeys the stream), events in between and
 * small chunks: the decrypted stream is byte-for-byte what was recorded. */
static void
test_rekeyed_stream_byte_exact(Fixture *f, gconstpointer data)
{
  g_autofree char *dir = g_build_filename(f->dir, "rk", NULL);
  const char *dirs[] = { dir, NULL };
  HvWriterParams p = { .device_seq = 1, .device_key = f->device, .recipients = f->recipient,
                       .n_recipients = 1, .chunk_max = 4096, .no_sync = TRUE };
  g_autoptr(GError) err = NULL;
  g_autoptr(HvVaultWriter) w = hv_vault_writer_new(dirs, &p, &err);
  g_assert_no_error(err);
  static const guint8 seed[randombytes_SEEDBYTES] = { 42 };
  gsize total = 200000;
  g_autofree guint8 *plain = g_malloc(total);
  randombytes_buf_deterministic(plain, total, seed);
  guint commits = 0;
  for (gsize off = 0, step = 777; off < total; off += step, step = step * 3 % 10007 + 1) {
    gsize n = MIN(step, total - off);
    g_assert_true(hv_vault_writer_append_media(w, plain + off, n, &err));
    if (off % 3 == 0)
      g_assert_true(hv_vault_writer_append_event(w, HV_EVENT_NOTE, "note", &err));
    if (off % 2 == 0) {
      g_assert_true(hv_vault_writer_commit(w, &err));
      commits++;
    }
  }
  g_assert_true(hv_vault_writer_finish(w, HV_STATUS_COMPLETE, "done", &err));
  g_assert_no_error(err);
  g_assert_cmpuint(commits, >=, 10);

  g_autoptr(HvVerdict) v = hv_vault_verify(dir, NULL, NULL);
  g_assert_true(v->intact);
  g_assert_cmpuint(v->checkpoints, >=, 10);
  g_autofree char *out = g_build_filename(f->dir, "rk.bin", NULL);
  int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  g_autoptr(HvDecryptor) d = hv_decryptor_new(&v->header, f->identity, fd, &err);
  g_assert_no_error(err);
  HvVerifyOptions o = { .on_record = hv_decryptor_on_record, .user_data = d };
  g_autoptr(HvVerdict) v2 = hv_vault_verify(dir, &o, NULL);
  close(fd);
  g_assert_null(v2->problem);
  g_assert_true(hv_decryptor_saw_final(d));
  g_autofree char *got = NULL;
  gsize got_len = 0;
  g_assert_true(g_file_get_contents(out, &got, &got_len, NULL));
  g_assert_cmpmem(got, got_len, plain, total);
}

/* Feed the decryptor chunks pushed with each secretstream tag: TAG_MESSAGE and
 * TAG_REKEY pass on non-final records, TAG_FINAL only on the FINAL record,
 * TAG_PUSH (never written by Haven) is refused. */
static void
test_tags(Fixture *f, gconstpointer data)
{
  g_autofree char *dir = fixture_session(f, "s", 1000, TRUE);
  g_autoptr(HvVerdict) v = hv_vault_verify(dir, NULL, NULL);
  g_assert_true(v->intact);
  guint8 key[HV_SS_KEY_SIZE];
  g_assert_cmpint(crypto_box_seal_open(key, v->header.recipients[0].sealed_key, HV_SEALED_KEY_SIZE,
                                       f->identity->pk, f->identity->sk), ==, 0);
  static const struct { guint8 tag; guint16 flags; gboolean ok; } steps[] = {
    { crypto_secretstream_xchacha20poly1305_TAG_MESSAGE, 0, TRUE },
    { crypto_secretstream_xchacha20poly1305_TAG_REKEY, 0, TRUE },
    { crypto_secretstream_xchacha20poly1305_TAG_MESSAGE, 0, TRUE },
    { crypto_secretstream_xchacha20poly1305_TAG_PUSH, 0, FALSE },
  };
  for (guint last = 0; last < 2; last++) {
    g_autoptr(HvDecryptor) d = hv_decryptor_new(&v->header, f->identity, -1, NULL);
    g_assert_nonnull(d);
    /* a pushing state equal to the decryptor's: init_pull derives what init_push did */
    crypto_secretstream_xchacha20poly1305_state st;
    g_assert_cmpint(crypto_secretstream_xchacha20poly1305_init_pull(&st, v->header.ss_header, key), ==, 0);
    guint n = last ? G_N_ELEMENTS(steps) : 3;
    for (guint i = 0; i < n; i++) {
      guint8 c[HV_SS_ABYTES];
      crypto_secretstream_xchacha20poly1305_push(&st, c, NULL, NULL, 0, NULL, 0, steps[i].tag);
      HvRecordHeader rh = { .type = HV_RECORD_MEDIA, .flags = steps[i].flags, .length = sizeof c };
      g_autoptr(GError) err = NULL;
      gboolean ok = hv_decryptor_on_record(&rh, c, d, &err);
      g_assert_cmpint(ok, ==, steps[i].ok);
      if (!ok)
        g_assert_error(err, HV_VAULT_ERROR, HV_VAULT_ERROR_DECRYPT);
    }
    if (!last) {
      /* TAG_FINAL without the FINAL flag is refused; with it, accepted */
      crypto_secretstream_xchacha20poly1305_state st2 = st;
      guint8 c[HV_SS_ABYTES];
      crypto_secretstream_xchacha20poly1305_push(&st2, c, NULL, NULL, 0, NULL, 0,
                                                 crypto_secretstream_xchacha20poly1305_TAG_FINAL);
      HvRecordHeader rh = { .type = HV_RECORD_MEDIA, .length = sizeof c };
      g_autoptr(GError) err = NULL;
      g_assert_false(hv_decryptor_on_record(&rh, c, d, &err));
      g_assert_error(err, HV_VAULT_ERROR, HV_VAULT_ERROR_DECRYPT);
      g_autoptr(HvDecryptor) d2 = hv_decryptor_new(&v->header, f->identity, -1, NULL);
      crypto_secretstream_xchacha20poly1305_state st3;
      g_assert_cmpint(crypto_secretstream_xchacha20poly1305_init_pull(&st3, v->header.ss_header, key), ==, 0);
      crypto_secretstream_xchacha20poly1305_push(&st3, c, NULL, NULL, 0, NULL, 0,
                                                 crypto_secretstream_xchacha20poly1305_TAG_FINAL);
      rh.flags = HV_RECORD_FLAG_FINAL;
      g_assert_true(hv_decryptor_on_record(&rh, c, d2, NULL));
      g_assert_true(hv_decryptor_saw_final(d2));
    }
  }
  sodium_memzero(key, sizeof key);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
#define ADD(path, fn) g_test_add(path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD("/vault-decrypt/everything", test_decrypts_everything);
  ADD("/vault-decrypt/wrong-identity", test_wrong_identity);
  ADD("/vault-decrypt/commitment-mismatch", test_commitment_mismatch);
  ADD("/vault-decrypt/rekeyed-stream-byte-exact", test_rekeyed_stream_byte_exact);
  ADD("/vault-decrypt/tags", test_tags);
  return g_test_run();
}
