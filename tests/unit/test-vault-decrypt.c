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

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
#define ADD(path, fn) g_test_add(path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD("/vault-decrypt/everything", test_decrypts_everything);
  ADD("/vault-decrypt/wrong-identity", test_wrong_identity);
  ADD("/vault-decrypt/commitment-mismatch", test_commitment_mismatch);
  return g_test_run();
}
