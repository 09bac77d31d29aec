// SPDX-License-Identifier: GPL-2.0-or-later
#include "test-helpers.h"

#include <string.h>
#include <sys/stat.h>

static void
test_modes_and_overwrite(Fixture *f, gconstpointer data)
{
  g_autofree char *key = g_build_filename(f->dir, "cust.key", NULL);
  g_autofree char *dkey = g_build_filename(f->dir, "device.key", NULL);
  struct stat st;
  g_assert_cmpint(stat(key, &st), ==, 0);
  g_assert_cmpint(st.st_mode & 0777, ==, 0600);
  g_assert_cmpint(stat(dkey, &st), ==, 0);
  g_assert_cmpint(st.st_mode & 0777, ==, 0600);

  g_autofree char *prefix = g_build_filename(f->dir, "cust", NULL);
  g_autoptr(GError) err = NULL;
  g_assert_false(hv_custodian_keygen(prefix, NULL, NULL, &err));
  g_assert_error(err, HV_VAULT_ERROR, HV_VAULT_ERROR_EXISTS);
  g_clear_error(&err);
  g_autoptr(HvDeviceKey) again = hv_device_key_generate(dkey, &err);
  g_assert_null(again);
  g_assert_error(err, HV_VAULT_ERROR, HV_VAULT_ERROR_EXISTS);

  g_autoptr(HvDeviceKey) loaded = hv_device_key_load(dkey, NULL);
  g_assert_cmpmem(loaded->pk, 32, f->device->pk, 32);
  guint8 pk[32];
  g_autofree char *pub = g_strdup_printf("%s.pub", dkey);
  g_assert_true(hv_device_pubkey_load(pub, pk, NULL));
  g_assert_cmpmem(pk, 32, f->device->pk, 32);
}

static void
test_damaged_files(Fixture *f, gconstpointer data)
{
  g_autofree char *p = g_build_filename(f->dir, "bad.pub", NULL);
  const char *cases[] = { "", "haven-recipient-v1 ", "haven-recipient-v1 AAAA\n",
                          "haven-identity-v1 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
                          "haven-recipient-v1 !!!!AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n" };
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_assert_true(g_file_set_contents(p, cases[i], -1, NULL));
    guint8 pk[32];
    g_autoptr(GError) err = NULL;
    g_assert_false(hv_recipient_load(p, pk, &err));
    g_assert_error(err, HV_VAULT_ERROR, HV_VAULT_ERROR_KEY);
  }
  g_autoptr(GError) err = NULL;
  guint8 pk[32];
  g_autofree char *missing = g_build_filename(f->dir, "nope.pub", NULL);
  g_assert_false(hv_recipient_load(missing, pk, &err));
  g_assert_error(err, HV_VAULT_ERROR, HV_VAULT_ERROR_IO);
}

/* One flipped byte in the seed or the public half of device.key: refused,
 * instead of signing sessions that never verify. */
static void
test_damaged_device_key(Fixture *f, gconstpointer data)
{
  g_autofree char *dkey = g_build_filename(f->dir, "device.key", NULL);
  g_autofree char *text = NULL;
  g_assert_true(g_file_get_contents(dkey, &text, NULL, NULL));
  char *b64 = strchr(text, ' ') + 1;
  *strchr(b64, '\n') = '\0';
  guint8 sk[64];
  size_t len = 0;
  g_assert_cmpint(sodium_base642bin(sk, sizeof sk, b64, strlen(b64), NULL, &len, NULL,
                                    sodium_base64_VARIANT_ORIGINAL), ==, 0);
  g_assert_cmpuint(len, ==, 64);
  static const guint offsets[] = { 0, 31, 32, 63 };
  for (guint i = 0; i < G_N_ELEMENTS(offsets); i++) {
    guint8 bad[64];
    memcpy(bad, sk, sizeof bad);
    bad[offsets[i]] ^= 0x01;
    char out[128];
    sodium_bin2base64(out, sizeof out, bad, sizeof bad, sodium_base64_VARIANT_ORIGINAL);
    g_autofree char *file = g_strdup_printf("haven-device-secret-v1 %s\n", out);
    g_autofree char *p = g_build_filename(f->dir, "damaged.key", NULL);
    g_assert_true(g_file_set_contents(p, file, -1, NULL));
    g_autoptr(GError) err = NULL;
    g_autoptr(HvDeviceKey) k = hv_device_key_load(p, &err);
    g_assert_null(k);
    g_assert_error(err, HV_VAULT_ERROR, HV_VAULT_ERROR_KEY);
  }
  g_autoptr(HvDeviceKey) good = hv_device_key_load(dkey, NULL);
  g_assert_nonnull(good);
}

/* FORMAT.md §11/§10: the device id is BLAKE2b with an 8-byte output, not a
 * prefix of the 32-byte hash (computed independently with Python's
 * hashlib.blake2b(bytes(range(32)), digest_size=8)). */
static void
test_key_id_vector(Fixture *f, gconstpointer data)
{
  guint8 pk[32];
  for (guint i = 0; i < sizeof pk; i++)
    pk[i] = (guint8) i;
  g_autofree char *id = hv_key_id(pk, sizeof pk);
  g_assert_cmpstr(id, ==, "40f68f4ad24e575b");
}

/* A key file of the wrong kind says which kind it is and what to give instead:
 * a technician handed a custodian's secret identity as the recipient is told so. */
static void
test_wrong_kind(Fixture *f, gconstpointer data)
{
  g_autofree char *key = g_build_filename(f->dir, "cust.key", NULL);
  g_autofree char *pub = g_build_filename(f->dir, "cust.pub", NULL);
  g_autofree char *dkey = g_build_filename(f->dir, "device.key", NULL);
  guint8 pk[32];
  g_autoptr(GError) err = NULL;
  g_assert_false(hv_recipient_load(key, pk, &err));
  g_assert_error(err, HV_VAULT_ERROR, HV_VAULT_ERROR_KEY);
  g_assert_nonnull(strstr(err->message, "it is a haven-identity-v1 file"));
  g_assert_nonnull(strstr(err->message, "SECRET identity"));
  g_assert_nonnull(strstr(err->message, "PREFIX.pub"));
  g_clear_error(&err);

  g_autoptr(HvIdentity) id = hv_identity_load(pub, &err);
  g_assert_null(id);
  g_assert_nonnull(strstr(err->message, "it is a haven-recipient-v1 file"));
  g_assert_nonnull(strstr(err->message, "PREFIX.key"));
  g_clear_error(&err);

  g_assert_false(hv_device_pubkey_load(pub, pk, &err));
  g_assert_nonnull(strstr(err->message, "it is a haven-recipient-v1 file"));
  g_assert_nonnull(strstr(err->message, "device.key.pub"));
  g_clear_error(&err);

  g_assert_false(hv_recipient_load(dkey, pk, &err));
  g_assert_nonnull(strstr(err->message, "it is a haven-device-secret-v1 file"));
}

/* A new identity signs; an identity of one line (as made before signing keys)
 * still decrypts; --upgrade adds a signing key and keeps the decryption key. */
static void
test_signing_key_and_upgrade(Fixture *f, gconstpointer data)
{
  g_autofree char *key = g_build_filename(f->dir, "cust.key", NULL);
  g_autofree char *signer = g_build_filename(f->dir, "cust.sign.pub", NULL);
  g_assert_nonnull(f->identity->sign_sk);
  guint8 pk[HV_SIGNER_PK_SIZE];
  g_assert_true(hv_signer_load(signer, pk, NULL));
  g_assert_cmpmem(pk, sizeof pk, f->identity->sign_pk, sizeof pk);
  g_assert_true(hv_signer_load(key, pk, NULL));
  g_assert_cmpmem(pk, sizeof pk, f->identity->sign_pk, sizeof pk);

  /* make it an old identity: its first line only */
  g_autofree char *text = NULL;
  g_assert_true(g_file_get_contents(key, &text, NULL, NULL));
  *(strchr(text, '\n') + 1) = '\0';
  g_autofree char *old = g_build_filename(f->dir, "old.key", NULL);
  g_assert_true(hv_file_create_exclusive(old, text, strlen(text), 0600, NULL));
  g_autoptr(GError) err = NULL;
  g_autoptr(HvIdentity) o = hv_identity_load(old, &err);
  g_assert_no_error(err);
  g_assert_null(o->sign_sk);
  g_assert_cmpmem(o->pk, 32, f->identity->pk, 32);
  g_assert_false(hv_signer_load(old, pk, &err));
  g_assert_error(err, HV_VAULT_ERROR, HV_VAULT_ERROR_KEY);
  g_assert_nonnull(strstr(err->message, "--upgrade"));
  g_clear_error(&err);

  g_autofree char *signer_path = NULL;
  g_assert_true(hv_identity_upgrade(old, &signer_path, &err));
  g_assert_no_error(err);
  g_autofree char *want = g_build_filename(f->dir, "old.sign.pub", NULL);
  g_assert_cmpstr(signer_path, ==, want);
  struct stat st;
  g_assert_cmpint(stat(old, &st), ==, 0);
  g_assert_cmpint(st.st_mode & 0777, ==, 0600);
  g_autoptr(HvIdentity) up = hv_identity_load(old, &err);
  g_assert_no_error(err);
  g_assert_nonnull(up->sign_sk);
  g_assert_cmpmem(up->pk, 32, f->identity->pk, 32);
  g_assert_cmpmem(up->sk, 32, f->identity->sk, 32);
  g_assert_true(hv_signer_load(signer_path, pk, NULL));
  g_assert_cmpmem(pk, sizeof pk, up->sign_pk, sizeof pk);
  g_assert_false(hv_identity_upgrade(old, NULL, &err));
  g_assert_error(err, HV_VAULT_ERROR, HV_VAULT_ERROR_EXISTS);
  g_clear_error(&err);

  /* a second line that is not a signing key is damage, not ignored */
  g_autofree char *bad = g_build_filename(f->dir, "bad.key", NULL);
  g_autofree char *bad_text = g_strconcat(text, "haven-recipient-v1 AAAA\n", NULL);
  g_assert_true(hv_file_create_exclusive(bad, bad_text, strlen(bad_text), 0600, NULL));
  g_autoptr(HvIdentity) b = hv_identity_load(bad, &err);
  g_assert_null(b);
  g_assert_error(err, HV_VAULT_ERROR, HV_VAULT_ERROR_KEY);
  g_clear_error(&err);
  /* and a two-line file is not a recipient */
  g_assert_false(hv_recipient_load(key, pk, &err));
  g_assert_error(err, HV_VAULT_ERROR, HV_VAULT_ERROR_KEY);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
#define ADD(path, fn) g_test_add(path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD("/vault-keys/key-id-vector", test_key_id_vector);
  ADD("/vault-keys/modes-and-overwrite", test_modes_and_overwrite);
  ADD("/vault-keys/damaged", test_damaged_files);
  ADD("/vault-keys/damaged-device-key", test_damaged_device_key);
  ADD("/vault-keys/wrong-kind", test_wrong_kind);
  ADD("/vault-keys/signing-key-and-upgrade", test_signing_key_and_upgrade);
  return g_test_run();
}
