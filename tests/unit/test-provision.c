// SPDX-License-Identifier: GPL-2.0-or-later
/* provision (issue 9 item 3): the device key is created only on purpose,
 * never overwritten; replacing it archives the old identity. */
#include "provision.h"
#include "storage.h"
#include "test-helpers.h"

#include <string.h>

static HvConfig *
load(Fixture *f, const char *key_path)
{
  g_autofree char *p = g_build_filename(f->dir, "haven.conf", NULL);
  g_autofree char *text = g_strdup_printf("[device]\nboard=/b/rpi4.board\nkey=%s\nstate-dir=%s/state\n[storage]\nroots=%s/storage\n"
                                          "[custodians]\nrecipients=%s/cust.pub\n",
                                          key_path, f->dir, f->dir, f->dir);
  g_assert_true(g_file_set_contents(p, text, -1, NULL));
  g_autoptr(GError) err = NULL;
  HvConfig *c = hv_config_load(p, &err);
  g_assert_no_error(err);
  return c;
}

static char *
contents(const char *path)
{
  char *s = NULL;
  g_assert_true(g_file_get_contents(path, &s, NULL, NULL));
  return s;
}

static void
test_create_then_refuse(Fixture *f, gconstpointer data)
{
  g_autofree char *key = g_build_filename(f->dir, "state", "device.key", NULL);
  g_autoptr(HvConfig) c = load(f, key);
  g_auto(HvProvisionResult) r = { 0 };
  g_autoptr(GError) err = NULL;
  g_assert_true(hv_provision_init_device(c, FALSE, &r, &err));
  g_assert_no_error(err);
  g_assert_null(r.archived_key);
  g_autoptr(HvDeviceKey) k = hv_device_key_load(key, NULL);
  g_assert_nonnull(k);
  g_autofree char *id = hv_key_id(k->pk, HV_DEVICE_PK_SIZE);
  g_assert_cmpstr(r.key_id, ==, id);
  g_autofree char *pub = g_strdup_printf("%s.pub", key);
  g_assert_cmpstr(r.pub_path, ==, pub);
  HvDeviceState st;
  g_assert_true(hv_storage_state_load(c->state_dir, k->pk, &st, NULL));
  g_assert_cmpuint(st.next_seq, ==, 1);
  g_autofree char *before = contents(key);

  g_auto(HvProvisionResult) again = { 0 };
  g_assert_false(hv_provision_init_device(c, FALSE, &again, &err));
  g_assert_error(err, HV_PROVISION_ERROR, HV_PROVISION_ERROR_EXISTS);
  g_assert_nonnull(strstr(err->message, id));
  g_autofree char *after = contents(key);
  g_assert_cmpstr(before, ==, after);
  g_assert_null(again.key_id);
}

static void
test_replace_archives(Fixture *f, gconstpointer data)
{
  g_autofree char *key = g_build_filename(f->dir, "state", "device.key", NULL);
  g_autoptr(HvConfig) c = load(f, key);
  g_auto(HvProvisionResult) first = { 0 };
  g_assert_true(hv_provision_init_device(c, FALSE, &first, NULL));
  g_autofree char *old_text = contents(key);
  /* the old device left sequence 1 open: the replacement says so */
  g_autoptr(HvDeviceKey) old = hv_device_key_load(key, NULL);
  HvDeviceState open_one;
  g_assert_true(hv_storage_state_load(c->state_dir, old->pk, &open_one, NULL));
  open_one.next_seq = 2;
  open_one.open_seq = 1;
  g_assert_true(hv_storage_state_save(c->state_dir, &open_one, NULL));
  g_autofree char *state_path = g_build_filename(c->state_dir, HV_DEVICE_STATE_FILE, NULL);
  g_autofree char *old_state = contents(state_path);

  g_auto(HvProvisionResult) r = { 0 };
  g_autoptr(GError) err = NULL;
  g_assert_true(hv_provision_init_device(c, TRUE, &r, &err));
  g_assert_no_error(err);
  g_assert_cmpstr(r.old_key_id, ==, first.key_id);
  g_assert_cmpuint(r.old_open_seq, ==, 1);
  g_assert_cmpstr(r.key_id, !=, first.key_id);
  g_assert_nonnull(r.archived_key);
  g_assert_true(g_str_has_prefix(r.archived_key, key) && strstr(r.archived_key, ".replaced-"));
  g_autofree char *archived = contents(r.archived_key);
  g_assert_cmpstr(archived, ==, old_text);
  g_autofree char *archived_pub = g_strdup_printf("%s.pub", r.archived_key);
  g_assert_true(g_file_test(archived_pub, G_FILE_TEST_IS_REGULAR));
  g_autofree char *archived_state = contents(r.archived_state);
  g_assert_cmpstr(archived_state, ==, old_state);
  g_autoptr(HvDeviceKey) k = hv_device_key_load(key, NULL);
  HvDeviceState st;
  g_assert_true(hv_storage_state_load(c->state_dir, k->pk, &st, NULL));
  g_assert_cmpuint(st.next_seq, ==, 1);
}

static void
test_no_directory(Fixture *f, gconstpointer data)
{
  g_autofree char *key = g_build_filename(f->dir, "nonexistent", "dir", "device.key", NULL);
  g_autoptr(HvConfig) c = load(f, key);
  g_auto(HvProvisionResult) r = { 0 };
  g_autoptr(GError) err = NULL;
  g_assert_false(hv_provision_init_device(c, FALSE, &r, &err));
  g_assert_error(err, HV_PROVISION_ERROR, HV_PROVISION_ERROR_NO_DIRECTORY);
  g_assert_nonnull(strstr(err->message, key));
  g_autofree char *nd = g_build_filename(f->dir, "nonexistent", NULL);
  g_assert_false(g_file_test(nd, G_FILE_TEST_EXISTS));
  g_assert_false(g_file_test(c->state_dir, G_FILE_TEST_EXISTS));
}

static void
test_state_without_key(Fixture *f, gconstpointer data)
{
  g_autofree char *key = g_build_filename(f->dir, "state", "device.key", NULL);
  g_autoptr(HvConfig) c = load(f, key);
  g_auto(HvProvisionResult) r = { 0 };
  g_assert_true(hv_provision_init_device(c, FALSE, &r, NULL));
  g_autofree char *pub = g_strdup_printf("%s.pub", key);
  g_assert_cmpint(g_unlink(key), ==, 0);
  g_assert_cmpint(g_unlink(pub), ==, 0);
  g_auto(HvProvisionResult) again = { 0 };
  g_autoptr(GError) err = NULL;
  g_assert_false(hv_provision_init_device(c, FALSE, &again, &err));
  g_assert_error(err, HV_PROVISION_ERROR, HV_PROVISION_ERROR_EXISTS);
  g_assert_false(g_file_test(key, G_FILE_TEST_EXISTS));
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add("/provision/create-then-refuse", Fixture, NULL, fixture_setup, test_create_then_refuse,
             fixture_teardown);
  g_test_add("/provision/replace-archives", Fixture, NULL, fixture_setup, test_replace_archives, fixture_teardown);
  g_test_add("/provision/no-directory", Fixture, NULL, fixture_setup, test_no_directory, fixture_teardown);
  g_test_add("/provision/state-without-key", Fixture, NULL, fixture_setup, test_state_without_key,
             fixture_teardown);
  return g_test_run();
}
