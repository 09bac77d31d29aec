// SPDX-License-Identifier: GPL-2.0-or-later
/* config-check (issue 9 item 4): what --check-config finds beyond the file's
 * syntax, every problem at once, access checked as the service user. */
#include "config-check.h"
#include "test-helpers.h"

#include <pwd.h>
#include <string.h>
#include <unistd.h>

static HvConfig *
load(Fixture *f, const char *device_extra, const char *roots, GPtrArray *problems)
{
  g_autofree char *p = g_build_filename(f->dir, "haven.conf", NULL);
  g_autofree char *text = g_strdup_printf("[device]\nboard=/b/rpi4.board\nkey=%s/device.key\nstate-dir=%s/state\n%s\n"
                                          "[storage]\nroots=%s\n[custodians]\nrecipients=%s/cust.pub\n",
                                          f->dir, f->dir, device_extra, roots, f->dir);
  g_assert_true(g_file_set_contents(p, text, -1, NULL));
  HvConfig *c = hv_config_load_all(p, problems);
  g_assert_nonnull(c);
  return c;
}

static void
assert_reported(GPtrArray *problems, const char *want)
{
  for (guint i = 0; i < problems->len; i++)
    if (strstr(problems->pdata[i], want))
      return;
  for (guint i = 0; i < problems->len; i++)
    g_printerr("  problem: %s\n", (char *) problems->pdata[i]);
  g_error("'%s' not reported", want);
}

static void
test_ok(Fixture *f, gconstpointer data)
{
  g_autofree char *storage = g_build_filename(f->dir, "storage", NULL);
  g_assert_cmpint(g_mkdir(storage, 0700), ==, 0);
  g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
  g_autoptr(HvConfig) c = load(f, "", storage, problems);
  g_autoptr(HvServiceUser) me = hv_service_user_lookup(NULL, NULL);
  hv_config_check_system(c, NULL, NULL, me, problems);
  for (guint i = 0; i < problems->len; i++)
    g_printerr("  problem: %s\n", (char *) problems->pdata[i]);
  g_assert_cmpuint(problems->len, ==, 0);
  g_assert_false(g_file_test(c->state_dir, G_FILE_TEST_EXISTS)); /* a check creates nothing */
}

/* A storage root that is a regular file or missing, an unknown control
 * group, a device key that is not there: all in one run. */
static void
test_everything_at_once(Fixture *f, gconstpointer data)
{
  g_autofree char *afile = g_build_filename(f->dir, "afile", NULL);
  g_autofree char *missing = g_build_filename(f->dir, "missing", NULL);
  g_assert_true(g_file_set_contents(afile, "x", 1, NULL));
  g_autofree char *roots = g_strdup_printf("%s;%s", afile, missing);
  g_autofree char *key = g_build_filename(f->dir, "device.key", NULL);
  g_assert_cmpint(g_unlink(key), ==, 0);
  g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
  g_autoptr(HvConfig) c = load(f, "control-group=hv-test-no-such-group", roots, problems);
  g_assert_cmpuint(problems->len, ==, 0);
  g_autoptr(HvServiceUser) me = hv_service_user_lookup(NULL, NULL);
  hv_config_check_system(c, NULL, NULL, me, problems);
  g_autofree char *w1 = g_strdup_printf("[storage] roots: '%s' is not a directory (a regular file)", afile);
  g_autofree char *w2 = g_strdup_printf("[storage] roots: '%s' does not exist", missing);
  g_autofree char *w3 = g_strdup_printf("[device] key: '%s' does not exist", key);
  assert_reported(problems, w1);
  assert_reported(problems, w2);
  assert_reported(problems, w3);
  assert_reported(problems, "[device] control-group: group 'hv-test-no-such-group' does not exist");
  assert_reported(problems, "havend --init-device");
  /* a missing root says what to do about it */
  assert_reported(problems, "does not exist: correct the path, or create it (a directory writable by user");
  g_assert_cmpuint(problems->len, ==, 4);
}

/* A recipient file and device key of mode 0600 owned by root: fine for root,
 * Permission denied for the service user. As an ordinary user: a file of
 * mode 0 (then the loading itself says so, once). */
static void
test_readable_by_service_user(Fixture *f, gconstpointer data)
{
  g_autofree char *storage = g_build_filename(f->dir, "storage", NULL);
  g_assert_cmpint(g_mkdir(storage, 0777), ==, 0);
  g_assert_cmpint(chmod(storage, 0777), ==, 0);
  g_autofree char *pub = g_build_filename(f->dir, "cust.pub", NULL);
  g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
  if (geteuid() != 0) {
    g_assert_cmpint(chmod(pub, 0), ==, 0);
    g_autoptr(HvConfig) c = load(f, "", storage, problems);
    g_autoptr(HvServiceUser) me = hv_service_user_lookup(NULL, NULL);
    hv_config_check_system(c, NULL, NULL, me, problems);
    assert_reported(problems, "[custodians] recipients");
    g_assert_cmpuint(problems->len, ==, 1);
    return;
  }
  g_assert_cmpint(chmod(f->dir, 0755), ==, 0);
  g_assert_cmpint(chmod(pub, 0600), ==, 0);
  g_autoptr(HvConfig) c = load(f, "", storage, problems);
  g_assert_cmpuint(problems->len, ==, 0); /* root reads it */
  struct passwd *pw = getpwuid(65534);
  g_assert_nonnull(pw);
  g_autoptr(HvServiceUser) nobody = hv_service_user_lookup(pw->pw_name, NULL);
  g_assert_nonnull(nobody);
  hv_config_check_system(c, NULL, NULL, nobody, problems);
  g_autofree char *w1 = g_strdup_printf("[custodians] recipients: '%s' is not readable by user %s", pub, pw->pw_name);
  g_autofree char *w2 = g_strdup_printf("[device] key: %s/device.key", f->dir);
  assert_reported(problems, w1);
  assert_reported(problems, w2);
  assert_reported(problems, "[device] state-dir"); /* nobody cannot create it in root's 0755 dir */
  g_assert_cmpuint(problems->len, ==, 3);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add("/config-check/ok", Fixture, NULL, fixture_setup, test_ok, fixture_teardown);
  g_test_add("/config-check/everything-at-once", Fixture, NULL, fixture_setup, test_everything_at_once,
             fixture_teardown);
  g_test_add("/config-check/readable-by-service-user", Fixture, NULL, fixture_setup,
             test_readable_by_service_user, fixture_teardown);
  return g_test_run();
}
