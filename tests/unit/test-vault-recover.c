// SPDX-License-Identifier: GPL-2.0-or-later
#include "test-helpers.h"
#include "vault-recover.h"
#include "vault-verify.h"

#include <fcntl.h>
#include <unistd.h>

static void
append_garbage(const char *dir, const char *name, gsize n)
{
  g_autofree char *p = g_build_filename(dir, name, NULL);
  int fd = open(p, O_WRONLY | O_APPEND);
  g_autofree guint8 *junk = g_malloc0(n);
  g_assert_cmpint(write(fd, junk, n), ==, (gssize) n);
  close(fd);
}

static void
test_recovers_torn_tail(Fixture *f, gconstpointer data)
{
  g_autofree char *dir = fixture_session(f, "s", 200000, FALSE);
  g_autoptr(HvVerdict) before = hv_vault_verify(dir, NULL, NULL);
  guint64 committed = before->good.count;
  append_garbage(dir, HV_FILE_RECORDS, 1234);     /* torn record */
  append_garbage(dir, HV_FILE_INDEX, 50);         /* torn checkpoint */

  HvRecoverResult r;
  g_autoptr(GError) err = NULL;
  g_assert_true(hv_vault_recover(dir, f->device, &r, &err));
  g_assert_no_error(err);
  g_assert_true(r.recovered);
  g_assert_cmpuint(r.kept_records, ==, committed);
  g_assert_cmpuint(r.dropped_bytes, ==, 1234);

  g_autoptr(HvVerdict) v = hv_vault_verify(dir, NULL, NULL);
  g_assert_true(v->intact);
  g_assert_cmpuint(v->seal.status, ==, HV_STATUS_INTERRUPTED);
  g_assert_cmpuint(v->records, ==, committed);

  /* idempotent */
  g_assert_true(hv_vault_recover(dir, f->device, &r, &err));
  g_assert_false(r.recovered);
}

static void
test_refuses_other_device(Fixture *f, gconstpointer data)
{
  g_autofree char *dir = fixture_session(f, "s", 1000, FALSE);
  g_autofree char *k = g_build_filename(f->dir, "other.key", NULL);
  g_autoptr(HvDeviceKey) other = hv_device_key_generate(k, NULL);
  HvRecoverResult r;
  g_autoptr(GError) err = NULL;
  g_assert_false(hv_vault_recover(dir, other, &r, &err));
  g_assert_error(err, HV_VAULT_ERROR, HV_VAULT_ERROR_SIGNATURE);
}

static void
test_nothing_committed(Fixture *f, gconstpointer data)
{
  g_autofree char *dir = g_build_filename(f->dir, "empty", NULL);
  const char *dirs[] = { dir, NULL };
  HvWriterParams p = { .device_seq = 1, .device_key = f->device, .recipients = f->recipient,
                       .n_recipients = 1 };
  HvVaultWriter *w = hv_vault_writer_new(dirs, &p, NULL);
  guint8 buf[70000] = { 0 };
  g_assert_true(hv_vault_writer_append_media(w, buf, sizeof buf, NULL)); /* written, never committed */
  hv_vault_writer_free(w);
  HvRecoverResult r;
  g_assert_true(hv_vault_recover(dir, f->device, &r, NULL));
  g_assert_cmpuint(r.kept_records, ==, 0);
  g_autoptr(HvVerdict) v = hv_vault_verify(dir, NULL, NULL);
  g_assert_true(v->intact);
  g_assert_cmpuint(v->records, ==, 0);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
#define ADD(path, fn) g_test_add(path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD("/vault-recover/torn-tail", test_recovers_torn_tail);
  ADD("/vault-recover/other-device", test_refuses_other_device);
  ADD("/vault-recover/nothing-committed", test_nothing_committed);
  return g_test_run();
}
