// SPDX-License-Identifier: GPL-2.0-or-later
#include "test-helpers.h"
#include "vault-recover.h"
#include "vault-verify.h"

#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

static void
remove_part(const char *dir, const char *name)
{
  g_autofree char *p = g_build_filename(dir, name, NULL);
  g_assert_cmpint(g_unlink(p), ==, 0);
}

/* recover must fail with domain/code and leave records and index byte-identical */
static void
assert_untouched_failure(Fixture *f, const char *dir, GQuark domain, gint code)
{
  g_autoptr(GBytes) rec = read_session_file(dir, HV_FILE_RECORDS);
  g_autoptr(GBytes) idx = read_session_file(dir, HV_FILE_INDEX);
  HvRecoverResult r;
  g_autoptr(GError) err = NULL;
  g_assert_false(hv_vault_recover(dir, f->device, &r, &err));
  g_assert_error(err, domain, code);
  g_autoptr(GBytes) rec2 = read_session_file(dir, HV_FILE_RECORDS);
  g_autoptr(GBytes) idx2 = read_session_file(dir, HV_FILE_INDEX);
  g_assert_true((rec == NULL) == (rec2 == NULL) && (!rec || g_bytes_equal(rec, rec2)));
  g_assert_true((idx == NULL) == (idx2 == NULL) && (!idx || g_bytes_equal(idx, idx2)));
  g_autofree char *seal = g_build_filename(dir, HV_FILE_SEAL, NULL);
  g_assert_false(g_file_test(seal, G_FILE_TEST_IS_REGULAR));
}

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

/* issue 8 item 3: rm seal.hvs index.hvi, then recover: must not cut records.hvr to 0 */
static void
test_no_index_changes_nothing(Fixture *f, gconstpointer data)
{
  g_autofree char *dir = fixture_session(f, "s", 300000, TRUE);
  remove_part(dir, HV_FILE_SEAL);
  remove_part(dir, HV_FILE_INDEX);
  assert_untouched_failure(f, dir, HV_RECOVER_ERROR, HV_RECOVER_ERROR_UNVERIFIABLE);
}

/* the same with seal.hvs a dangling symlink (index still there) */
static void
test_dangling_seal_changes_nothing(Fixture *f, gconstpointer data)
{
  g_autofree char *dir = fixture_session(f, "s", 300000, TRUE);
  remove_part(dir, HV_FILE_SEAL);
  g_autofree char *seal = g_build_filename(dir, HV_FILE_SEAL, NULL);
  g_assert_cmpint(symlink("/nonexistent/seal.hvs", seal), ==, 0);
  assert_untouched_failure(f, dir, HV_RECOVER_ERROR, HV_RECOVER_ERROR_SEAL_PRESENT);
  /* and with both removed the index is still required */
  remove_part(dir, HV_FILE_INDEX);
  assert_untouched_failure(f, dir, HV_RECOVER_ERROR, HV_RECOVER_ERROR_SEAL_PRESENT);
}

/* records cut below a signed checkpoint: the checkpoint vouches for bytes that are gone */
static void
test_records_below_checkpoint(Fixture *f, gconstpointer data)
{
  g_autofree char *dir = fixture_session(f, "s", 300000, FALSE);
  g_autofree char *p = g_build_filename(dir, HV_FILE_RECORDS, NULL);
  g_assert_cmpint(truncate(p, 1000), ==, 0);
  assert_untouched_failure(f, dir, HV_RECOVER_ERROR, HV_RECOVER_ERROR_DAMAGED);
}

/* a byte changed before the last checkpoint: cutting there would destroy signed records */
static void
test_changed_record_changes_nothing(Fixture *f, gconstpointer data)
{
  g_autofree char *dir = fixture_session(f, "s", 300000, FALSE);
  g_autofree char *p = g_build_filename(dir, HV_FILE_RECORDS, NULL);
  int fd = open(p, O_RDWR);
  guint8 b = 0x5a;
  g_assert_cmpint(pwrite(fd, &b, 1, 200), ==, 1);
  close(fd);
  assert_untouched_failure(f, dir, HV_RECOVER_ERROR, HV_RECOVER_ERROR_DAMAGED);
}

/* a damaged checkpoint followed by a signed one: the index was altered */
static void
test_signed_after_damaged_checkpoint(Fixture *f, gconstpointer data)
{
  g_autofree char *dir = fixture_session(f, "s", 300000, FALSE);
  g_autoptr(GBytes) idx = read_session_file(dir, HV_FILE_INDEX);
  g_assert_cmpuint(g_bytes_get_size(idx), >=, 2 * HV_CHECKPOINT_SIZE);
  g_autofree char *p = g_build_filename(dir, HV_FILE_INDEX, NULL);
  int fd = open(p, O_RDWR);
  guint8 b = 0xff;
  g_assert_cmpint(pwrite(fd, &b, 1, 100), ==, 1); /* inside the first signature */
  close(fd);
  assert_untouched_failure(f, dir, HV_RECOVER_ERROR, HV_RECOVER_ERROR_DAMAGED);
}

/* FORMAT.md §9: identical copies give identical seals; every field from the files */
static void
test_deterministic(Fixture *f, gconstpointer data)
{
  g_autofree char *a = fixture_session(f, "a", 250000, FALSE);
  append_garbage(a, HV_FILE_RECORDS, 777);
  g_autofree char *b = g_build_filename(f->dir, "b", NULL);
  g_assert_cmpint(g_mkdir(b, 0750), ==, 0);
  const char *parts[] = { HV_FILE_HEADER, HV_FILE_RECORDS, HV_FILE_INDEX };
  for (guint i = 0; i < G_N_ELEMENTS(parts); i++) {
    g_autoptr(GBytes) bytes = read_session_file(a, parts[i]);
    g_autofree char *dst = g_build_filename(b, parts[i], NULL);
    g_assert_true(g_file_set_contents(dst, g_bytes_get_data(bytes, NULL), (gssize) g_bytes_get_size(bytes), NULL));
  }
  HvRecoverResult ra, rb;
  g_assert_true(hv_vault_recover(a, f->device, &ra, NULL));
  g_usleep(2000); /* the sealing time must not come from the clock */
  g_assert_true(hv_vault_recover(b, f->device, &rb, NULL));
  g_assert_true(ra.recovered && rb.recovered);
  g_assert_cmpmem(ra.seal_hash, HV_HASH_SIZE, rb.seal_hash, HV_HASH_SIZE);
  g_autoptr(GBytes) sa = read_session_file(a, HV_FILE_SEAL);
  g_autoptr(GBytes) sb = read_session_file(b, HV_FILE_SEAL);
  g_assert_true(g_bytes_equal(sa, sb));
  g_autoptr(HvVerdict) v = hv_vault_verify(a, NULL, NULL);
  g_assert_true(v->intact);
  g_assert_cmpint(v->seal.sealed_wall_us, ==, v->last_wall_us);
}

/* a valid seal is reported as such, with its hash */
static void
test_valid_seal_left_alone(Fixture *f, gconstpointer data)
{
  g_autofree char *dir = fixture_session(f, "s", 20000, TRUE);
  g_autoptr(GBytes) before = read_session_file(dir, HV_FILE_SEAL);
  HvRecoverResult r;
  g_assert_true(hv_vault_recover(dir, f->device, &r, NULL));
  g_assert_false(r.recovered);
  g_assert_cmpuint(r.device_seq, ==, 1);
  g_autoptr(GBytes) after = read_session_file(dir, HV_FILE_SEAL);
  g_assert_true(g_bytes_equal(before, after));
}

/* issue 8 (recovery defects) item 1a: a session being recorded (the writer
 * holds records.hvr) is never recovered under the writer; released, it is */
static void
test_live_session_locked(Fixture *f, gconstpointer data)
{
  g_autofree char *dir = g_build_filename(f->dir, "live", NULL);
  const char *dirs[] = { dir, NULL };
  HvWriterParams p = { .room = "Room 1", .device_seq = 1, .device_key = f->device,
                       .recipients = f->recipient, .n_recipients = 1 };
  g_autoptr(GError) err = NULL;
  HvVaultWriter *w = hv_vault_writer_new(dirs, &p, &err);
  g_assert_no_error(err);
  guint8 buf[5000];
  randombytes_buf(buf, sizeof buf);
  g_assert_true(hv_vault_writer_append_event(w, HV_EVENT_START, "start", &err));
  g_assert_true(hv_vault_writer_append_media(w, buf, sizeof buf, &err));
  g_assert_true(hv_vault_writer_commit(w, &err));
  g_assert_true(hv_vault_writer_append_media(w, buf, sizeof buf, &err)); /* not yet committed */
  assert_untouched_failure(f, dir, HV_RECOVER_ERROR, HV_RECOVER_ERROR_LOCKED);

  /* the writer goes on and seals COMPLETE: nothing was cut under it */
  g_assert_true(hv_vault_writer_commit(w, &err));
  g_assert_true(hv_vault_writer_finish(w, HV_STATUS_COMPLETE, "done", &err));
  g_assert_no_error(err);
  hv_vault_writer_free(w);
  g_autoptr(HvVerdict) v = hv_vault_verify(dir, NULL, NULL);
  g_assert_true(v->intact);
  g_assert_cmpuint(v->seal.status, ==, HV_STATUS_COMPLETE);
  g_assert_cmpuint(v->records, >=, 3); /* start and both media chunks kept */
}

/* a second writer (another havend) cannot take a records file that is locked */
static void
test_writer_lock_taken(Fixture *f, gconstpointer data)
{
  g_autofree char *dir = fixture_session(f, "s", 20000, FALSE);
  g_autofree char *rec = g_build_filename(dir, HV_FILE_RECORDS, NULL);
  int fd = open(rec, O_RDONLY);
  g_assert_cmpint(fd, >=, 0);
  g_assert_cmpint(flock(fd, LOCK_EX | LOCK_NB), ==, 0);
  assert_untouched_failure(f, dir, HV_RECOVER_ERROR, HV_RECOVER_ERROR_LOCKED);
  close(fd);
  HvRecoverResult r;
  g_autoptr(GError) err = NULL;
  g_assert_true(hv_vault_recover(dir, f->device, &r, &err));
  g_assert_no_error(err);
  g_assert_true(r.recovered);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
#define ADD(path, fn) g_test_add(path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD("/vault-recover/torn-tail", test_recovers_torn_tail);
  ADD("/vault-recover/other-device", test_refuses_other_device);
  ADD("/vault-recover/nothing-committed", test_nothing_committed);
  ADD("/vault-recover/no-index-changes-nothing", test_no_index_changes_nothing);
  ADD("/vault-recover/dangling-seal-changes-nothing", test_dangling_seal_changes_nothing);
  ADD("/vault-recover/records-below-checkpoint", test_records_below_checkpoint);
  ADD("/vault-recover/changed-record-changes-nothing", test_changed_record_changes_nothing);
  ADD("/vault-recover/signed-after-damaged-checkpoint", test_signed_after_damaged_checkpoint);
  ADD("/vault-recover/deterministic", test_deterministic);
  ADD("/vault-recover/valid-seal-left-alone", test_valid_seal_left_alone);
  ADD("/vault-recover/live-session-locked", test_live_session_locked);
  ADD("/vault-recover/held-lock-changes-nothing", test_writer_lock_taken);
  return g_test_run();
}
