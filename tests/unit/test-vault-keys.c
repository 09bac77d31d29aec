// SPDX-License-Identifier: GPL-2.0-or-later
#include "test-helpers.h"

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

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
#define ADD(path, fn) g_test_add(path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD("/vault-keys/key-id-vector", test_key_id_vector);
  ADD("/vault-keys/modes-and-overwrite", test_modes_and_overwrite);
  ADD("/vault-keys/damaged", test_damaged_files);
  return g_test_run();
}
