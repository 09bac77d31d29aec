// SPDX-License-Identifier: GPL-2.0-or-later
/* storage: the device state decides the ledger; storage is only cross-checked. */
#include "test-helpers.h"
#include "storage.h"
#include "vault/vault.h"

#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

typedef struct {
  Fixture f;
  char   *state;
  char   *roots[3];
} StFixture;

static void
st_setup(StFixture *s, gconstpointer data)
{
  fixture_setup(&s->f, data);
  s->state = g_build_filename(s->f.dir, "state", NULL);
  s->roots[0] = g_build_filename(s->f.dir, "root1", NULL);
  s->roots[1] = g_build_filename(s->f.dir, "root2", NULL);
  g_assert_cmpint(g_mkdir(s->state, 0750), ==, 0);
  g_assert_cmpint(g_mkdir(s->roots[0], 0750), ==, 0);
  g_assert_cmpint(g_mkdir(s->roots[1], 0750), ==, 0);
}

static void
st_teardown(StFixture *s, gconstpointer data)
{
  g_free(s->state);
  g_free(s->roots[0]);
  g_free(s->roots[1]);
  fixture_teardown(&s->f, data);
}

/* A session of sequence seq under root; sealed COMPLETE or left open. */
static char *
make_session(StFixture *s, const char *root, guint64 seq, const guint8 *prev, gboolean seal,
             guint8 ret_seal_hash[HV_HASH_SIZE])
{
  g_autofree char *name = g_strdup_printf("S%06" G_GUINT64_FORMAT "-20261128T151400Z", seq);
  char *dir = g_build_filename(root, name, NULL);
  const char *dirs[] = { dir, NULL };
  HvWriterParams p = { .room = "Room 1", .device_seq = seq, .prev_seal_hash = prev, .device_key = s->f.device,
                       .recipients = s->f.recipient, .n_recipients = 1 };
  g_autoptr(GError) err = NULL;
  g_autoptr(HvVaultWriter) w = hv_vault_writer_new(dirs, &p, &err);
  g_assert_no_error(err);
  guint8 buf[5000];
  randombytes_buf(buf, sizeof buf);
  g_assert_true(hv_vault_writer_append_event(w, HV_EVENT_START, "start", &err));
  g_assert_true(hv_vault_writer_append_media(w, buf, sizeof buf, &err));
  g_assert_true(hv_vault_writer_commit(w, &err));
  if (seal)
    g_assert_true(hv_vault_writer_finish(w, HV_STATUS_COMPLETE, "done", &err));
  g_assert_no_error(err);
  if (seal && ret_seal_hash) {
    g_autoptr(HvVerdict) v = hv_vault_verify(dir, NULL, NULL);
    g_assert_true(v->intact);
    memcpy(ret_seal_hash, v->seal_hash, HV_HASH_SIZE);
  }
  return dir;
}

static HvDeviceState
state_with(StFixture *s, guint64 next, guint64 sealed, const guint8 *hash, guint64 open)
{
  HvDeviceState st = { .next_seq = next, .sealed_seq = sealed, .open_seq = open };
  memcpy(st.device_pk, s->f.device->pk, HV_DEVICE_PK_SIZE);
  if (hash)
    memcpy(st.sealed_hash, hash, HV_HASH_SIZE);
  return st;
}

static void
write_file(const char *dir, const char *name, const void *data, gsize len)
{
  g_autofree char *p = g_build_filename(dir, name, NULL);
  g_assert_true(g_file_set_contents(p, data, (gssize) len, NULL));
}

/* ---- the state file ---- */

static void
test_first_boot(StFixture *s, gconstpointer data)
{
  HvDeviceState st;
  g_autoptr(GError) err = NULL;
  g_assert_true(hv_storage_state_open(s->roots, s->state, s->f.device->pk, TRUE, &st, &err));
  g_assert_no_error(err);
  g_assert_cmpuint(st.next_seq, ==, 1);
  g_assert_cmpuint(st.sealed_seq, ==, 0);
  g_assert_cmpuint(st.open_seq, ==, 0);
  HvDeviceState again;
  g_assert_true(hv_storage_state_load(s->state, s->f.device->pk, &again, &err));
  g_assert_cmpmem(&st, sizeof st, &again, sizeof again);
}

static void
test_round_trip(StFixture *s, gconstpointer data)
{
  guint8 h[HV_HASH_SIZE];
  randombytes_buf(h, sizeof h);
  HvDeviceState st = state_with(s, 8, 6, h, 7), back;
  g_autoptr(GError) err = NULL;
  g_assert_true(hv_storage_state_save(s->state, &st, &err));
  g_assert_true(hv_storage_state_load(s->state, s->f.device->pk, &back, &err));
  g_assert_no_error(err);
  g_assert_cmpmem(&st, sizeof st, &back, sizeof back);
}

static void
test_damaged(StFixture *s, gconstpointer data)
{
  static const char *bad[] = {
    "garbage",
    "haven-device-state-v1\ndevice 00\nnext 1\nsealed 0 00\nopen 0\n",
    "", /* other device: filled in below */
    "", /* sealed >= next */
  };
  HvDeviceState other = state_with(s, 3, 1, NULL, 0);
  other.device_pk[0] ^= 1;
  for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
    if (i == 2) {
      g_assert_true(hv_storage_state_save(s->state, &other, NULL));
    } else if (i == 3) {
      g_autofree char *pk = hv_hex(s->f.device->pk, HV_DEVICE_PK_SIZE);
      g_autofree char *t = g_strdup_printf("haven-device-state-v1\ndevice %s\nnext 2\nsealed 2 %064d\nopen 0\n",
                                           pk, 0);
      write_file(s->state, HV_DEVICE_STATE_FILE, t, strlen(t));
    } else {
      write_file(s->state, HV_DEVICE_STATE_FILE, bad[i], strlen(bad[i]));
    }
    HvDeviceState st;
    g_autoptr(GError) err = NULL;
    g_assert_false(hv_storage_state_load(s->state, s->f.device->pk, &st, &err));
    /* another key's state parses: told apart, so that adopt never replaces it */
    g_assert_error(err, HV_STORAGE_ERROR, (i == 2 ? HV_STORAGE_ERROR_STATE_FOREIGN : HV_STORAGE_ERROR_STATE_DAMAGED));
  }
}

/* State lost while storage holds genuine sessions: a fault, not a guess; a
 * technician adopts from the signed sessions, once. */
static void
test_state_lost(StFixture *s, gconstpointer data)
{
  guint8 h1[HV_HASH_SIZE], h2[HV_HASH_SIZE];
  g_free(make_session(s, s->roots[0], 1, NULL, TRUE, h1));
  g_free(make_session(s, s->roots[0], 2, h1, TRUE, h2));
  HvDeviceState st;
  g_autoptr(GError) err = NULL;
  g_assert_false(hv_storage_state_open(s->roots, s->state, s->f.device->pk, TRUE, &st, &err));
  g_assert_error(err, HV_STORAGE_ERROR, HV_STORAGE_ERROR_STATE_LOST);
  g_clear_error(&err);
  g_autofree char *p = g_build_filename(s->state, HV_DEVICE_STATE_FILE, NULL);
  g_assert_false(g_file_test(p, G_FILE_TEST_EXISTS));

  /* damaged is treated the same */
  write_file(s->state, HV_DEVICE_STATE_FILE, "x", 1);
  g_assert_false(hv_storage_state_open(s->roots, s->state, s->f.device->pk, TRUE, &st, &err));
  g_assert_error(err, HV_STORAGE_ERROR, HV_STORAGE_ERROR_STATE_LOST);
  g_clear_error(&err);

  g_assert_true(hv_storage_state_adopt(s->roots, s->state, s->f.device->pk, &st, &err));
  g_assert_no_error(err);
  g_assert_cmpuint(st.next_seq, ==, 3);
  g_assert_cmpuint(st.sealed_seq, ==, 2);
  g_assert_cmpmem(st.sealed_hash, HV_HASH_SIZE, h2, HV_HASH_SIZE);
  g_assert_true(hv_storage_state_open(s->roots, s->state, s->f.device->pk, TRUE, &st, &err));
  g_assert_cmpuint(st.next_seq, ==, 3);
  g_assert_false(hv_storage_state_adopt(s->roots, s->state, s->f.device->pk, &st, &err));
  g_assert_error(err, HV_STORAGE_ERROR, HV_STORAGE_ERROR_STATE_EXISTS);
}

/* A device key that already existed, no state and empty storage: its sessions
 * may have been taken off the storage (the normal off-load), so starting again
 * at 1 would reuse their sequences: STATE_LOST, never a fresh state. */
static void
test_old_key_empty_storage(StFixture *s, gconstpointer data)
{
  HvDeviceState st;
  g_autoptr(GError) err = NULL;
  g_assert_false(hv_storage_state_open(s->roots, s->state, s->f.device->pk, FALSE, &st, &err));
  g_assert_error(err, HV_STORAGE_ERROR, HV_STORAGE_ERROR_STATE_LOST);
  g_autofree char *p = g_build_filename(s->state, HV_DEVICE_STATE_FILE, NULL);
  g_assert_false(g_file_test(p, G_FILE_TEST_EXISTS));
  g_clear_error(&err);
  g_assert_true(hv_storage_state_open(s->roots, s->state, s->f.device->pk, TRUE, &st, &err));
  g_assert_cmpuint(st.next_seq, ==, 1);
}

/* issue 8 item 4: a genuine header copied to a second root with seq changed
 * (1000, 2^64-1) and a garbage seal: never adopted, reported. */
static void
forged_header(StFixture *s, guint64 forged_seq)
{
  guint8 h1[HV_HASH_SIZE];
  g_autofree char *d1 = make_session(s, s->roots[0], 1, NULL, TRUE, h1);
  HvDeviceState st = state_with(s, 2, 1, h1, 0);
  g_assert_true(hv_storage_state_save(s->state, &st, NULL));

  g_autofree char *fake = g_build_filename(s->roots[1], "S001000-20261128T151400Z", NULL);
  g_assert_cmpint(g_mkdir(fake, 0750), ==, 0);
  g_autoptr(GBytes) hb = read_session_file(d1, HV_FILE_HEADER);
  gsize len = g_bytes_get_size(hb);
  guint8 *h = g_memdup2(g_bytes_get_data(hb, NULL), len);
  hv_put_u64(h + 64, forged_seq);
  write_file(fake, HV_FILE_HEADER, h, len);
  write_file(fake, HV_FILE_SEAL, "garbage", 7);
  g_free(h);

  HvDeviceState got;
  g_autoptr(GError) err = NULL;
  g_assert_true(hv_storage_state_open(s->roots, s->state, s->f.device->pk, TRUE, &got, &err));
  g_assert_no_error(err);
  g_assert_cmpuint(got.next_seq, ==, 2);
  g_autoptr(GPtrArray) problems = hv_storage_cross_check(s->roots, &got);
  g_assert_cmpuint(problems->len, ==, 1);
  g_assert_nonnull(strstr(problems->pdata[0], "S001000"));
  /* the technician's adopt ignores it too */
  HvDeviceState adopted;
  g_assert_true(hv_storage_state_adopt(s->roots, NULL, s->f.device->pk, &adopted, &err));
  g_assert_cmpuint(adopted.next_seq, ==, 2);
}

static void
test_forged_1000(StFixture *s, gconstpointer data)
{
  forged_header(s, 1000);
}

static void
test_forged_max(StFixture *s, gconstpointer data)
{
  forged_header(s, G_MAXUINT64);
}

/* signed storage ahead of the state, or a newest seal that is not the device's */
static void
test_cross_check(StFixture *s, gconstpointer data)
{
  guint8 h1[HV_HASH_SIZE], h2[HV_HASH_SIZE], other[HV_HASH_SIZE] = { 1 };
  g_free(make_session(s, s->roots[0], 1, NULL, TRUE, h1));
  g_free(make_session(s, s->roots[0], 2, h1, TRUE, h2));
  HvDeviceState agree = state_with(s, 3, 2, h2, 0);
  g_autoptr(GPtrArray) none = hv_storage_cross_check(s->roots, &agree);
  g_assert_cmpuint(none->len, ==, 0);
  HvDeviceState behind = state_with(s, 2, 1, h1, 0);
  g_autoptr(GPtrArray) ahead = hv_storage_cross_check(s->roots, &behind);
  g_assert_cmpuint(ahead->len, ==, 1);
  g_assert_nonnull(strstr(ahead->pdata[0], "never allocated"));
  HvDeviceState wrong = state_with(s, 3, 2, other, 0);
  g_autoptr(GPtrArray) replaced = hv_storage_cross_check(s->roots, &wrong);
  g_assert_cmpuint(replaced->len, ==, 1);
}

typedef struct {
  GPtrArray *errors;
  GPtrArray *sealed;
} Seen;

static void
on_recovered(const char *dir, guint64 seq, const char *fp, guint64 kept, const char *error, gpointer ud)
{
  Seen *seen = ud;
  g_ptr_array_add(error ? seen->errors : seen->sealed, g_strdup(dir));
}

/* issue 8 item 2: only the open session is sealed; one the device already
 * sealed (seal removed, index cut) is reported and left byte-identical. */
static void
test_recover_only_open(StFixture *s, gconstpointer data)
{
  guint8 h1[HV_HASH_SIZE];
  g_autofree char *d1 = make_session(s, s->roots[0], 1, NULL, TRUE, h1);
  g_autofree char *d2 = make_session(s, s->roots[0], 2, h1, FALSE, NULL);
  g_autofree char *seal1 = g_build_filename(d1, HV_FILE_SEAL, NULL);
  g_assert_cmpint(g_unlink(seal1), ==, 0);
  g_autofree char *idx1 = g_build_filename(d1, HV_FILE_INDEX, NULL);
  g_assert_cmpint(truncate(idx1, 0), ==, 0);
  g_autoptr(GBytes) rec1 = read_session_file(d1, HV_FILE_RECORDS);

  HvDeviceState st = state_with(s, 3, 1, h1, 2);
  g_assert_true(hv_storage_state_save(s->state, &st, NULL));
  Seen seen = { g_ptr_array_new_with_free_func(g_free), g_ptr_array_new_with_free_func(g_free) };
  guint n = hv_storage_recover_open(s->roots, s->f.device, s->state, &st, on_recovered, &seen);
  g_assert_cmpuint(n, ==, 1);
  g_assert_cmpuint(seen.sealed->len, ==, 1);
  g_assert_cmpstr(seen.sealed->pdata[0], ==, d2);
  g_assert_cmpuint(seen.errors->len, ==, 1);
  g_assert_cmpstr(seen.errors->pdata[0], ==, d1);
  g_assert_false(g_file_test(seal1, G_FILE_TEST_EXISTS));
  g_autoptr(GBytes) rec1b = read_session_file(d1, HV_FILE_RECORDS);
  g_assert_true(g_bytes_equal(rec1, rec1b));

  /* the state moved on: sequence 2 sealed, nothing open, saved */
  g_autoptr(HvVerdict) v2 = hv_vault_verify(d2, NULL, NULL);
  g_assert_true(v2->intact);
  HvDeviceState back;
  g_assert_true(hv_storage_state_load(s->state, s->f.device->pk, &back, NULL));
  g_assert_cmpuint(back.sealed_seq, ==, 2);
  g_assert_cmpuint(back.open_seq, ==, 0);
  g_assert_cmpmem(back.sealed_hash, HV_HASH_SIZE, v2->seal_hash, HV_HASH_SIZE);
  /* and without a usable state nothing is sealed */
  g_assert_cmpuint(hv_storage_recover_open(s->roots, s->f.device, NULL, NULL, on_recovered, &seen), ==, 0);
  g_assert_false(g_file_test(seal1, G_FILE_TEST_EXISTS));
  g_ptr_array_unref(seen.errors);
  g_ptr_array_unref(seen.sealed);
}

/* a sequence reserved but never written (crash before the header): reported,
 * kept open, never handed out again */
static void
test_open_without_copy(StFixture *s, gconstpointer data)
{
  guint8 h1[HV_HASH_SIZE];
  g_free(make_session(s, s->roots[0], 1, NULL, TRUE, h1));
  HvDeviceState st = state_with(s, 3, 1, h1, 2);
  g_assert_true(hv_storage_state_save(s->state, &st, NULL));
  Seen seen = { g_ptr_array_new_with_free_func(g_free), g_ptr_array_new_with_free_func(g_free) };
  g_assert_cmpuint(hv_storage_recover_open(s->roots, s->f.device, s->state, &st, on_recovered, &seen), ==, 0);
  g_assert_cmpuint(seen.errors->len, ==, 1);
  g_assert_cmpuint(seen.sealed->len, ==, 0);
  HvDeviceState back;
  g_assert_true(hv_storage_state_load(s->state, s->f.device->pk, &back, NULL));
  g_assert_cmpuint(back.open_seq, ==, 2);
  g_assert_cmpuint(back.next_seq, ==, 3);
  g_ptr_array_unref(seen.errors);
  g_ptr_array_unref(seen.sealed);
}

/* Declaring a sequence unrecorded needs every root to say it is not there:
 * a root that cannot be listed (a disk that dropped out) may hold it. */
static void
test_session_absent(StFixture *s, gconstpointer data)
{
  g_free(make_session(s, s->roots[1], 2, NULL, FALSE, NULL));
  g_assert_false(hv_storage_session_absent(s->roots, 2));
  g_assert_true(hv_storage_session_absent(s->roots, 3));
  g_autofree char *away = g_strconcat(s->roots[0], ".gone", NULL);
  g_assert_cmpint(g_rename(s->roots[0], away), ==, 0);
  g_test_expect_message("haven-recorder", G_LOG_LEVEL_WARNING, "cannot tell whether session sequence 3 exists*");
  g_assert_false(hv_storage_session_absent(s->roots, 3));
  g_test_assert_expected_messages();
  g_assert_false(hv_storage_session_exists(s->roots, 3)); /* what "exists" says: not the same question */
  g_assert_cmpint(g_rename(away, s->roots[0]), ==, 0);
  g_assert_true(hv_storage_session_absent(s->roots, 3));
}

/* issue 8 (recovery defects) item 2: a wrong --device-key never replaces a
 * state that parses, whatever its key */
static void
test_adopt_wrong_key(StFixture *s, gconstpointer data)
{
  guint8 h1[HV_HASH_SIZE];
  g_free(make_session(s, s->roots[0], 1, NULL, TRUE, h1));
  g_autofree char *d2 = make_session(s, s->roots[0], 2, h1, TRUE, NULL);
  HvDeviceState real = state_with(s, 3, 2, NULL, 0);
  g_autoptr(HvVerdict) v2 = hv_vault_verify(d2, NULL, NULL);
  memcpy(real.sealed_hash, v2->seal_hash, HV_HASH_SIZE);
  g_assert_true(hv_storage_state_save(s->state, &real, NULL));
  g_autoptr(GBytes) before = read_session_file(s->state, HV_DEVICE_STATE_FILE);

  guint8 other_pk[HV_DEVICE_PK_SIZE];
  randombytes_buf(other_pk, sizeof other_pk);
  HvDeviceState st;
  g_autoptr(GError) err = NULL;
  g_assert_false(hv_storage_state_adopt(s->roots, s->state, other_pk, &st, &err));
  g_assert_error(err, HV_STORAGE_ERROR, HV_STORAGE_ERROR_STATE_FOREIGN);
  g_assert_nonnull(strstr(err->message, "wrong --device-key?"));
  g_autoptr(GBytes) after = read_session_file(s->state, HV_DEVICE_STATE_FILE);
  g_assert_true(g_bytes_equal(before, after));

  /* no state file, storage holds only the real device's sessions: refused */
  g_autofree char *p = g_build_filename(s->state, HV_DEVICE_STATE_FILE, NULL);
  g_assert_cmpint(g_unlink(p), ==, 0);
  g_clear_error(&err);
  g_assert_false(hv_storage_state_adopt(s->roots, s->state, other_pk, &st, &err));
  g_assert_error(err, HV_STORAGE_ERROR, HV_STORAGE_ERROR_FOREIGN_ARCHIVE);
  g_assert_false(g_file_test(p, G_FILE_TEST_EXISTS));
  /* an empty archive is adopted (next 1) */
  char *empty[] = { s->roots[1], NULL };
  g_clear_error(&err);
  g_assert_true(hv_storage_state_adopt(empty, s->state, other_pk, &st, &err));
  g_assert_no_error(err);
  g_assert_cmpuint(st.next_seq, ==, 1);
}

/* issue 8 (recovery defects) item 3: a state restored from an old backup is
 * behind signed storage: refused at open, replaced by adopt; forged headers
 * never make a state behind */
static void
test_state_behind(StFixture *s, gconstpointer data)
{
  guint8 h1[HV_HASH_SIZE], h2[HV_HASH_SIZE];
  g_free(make_session(s, s->roots[0], 1, NULL, TRUE, h1));
  g_free(make_session(s, s->roots[0], 2, h1, TRUE, h2));
  HvDeviceState backup = state_with(s, 2, 1, h1, 0); /* before sequence 2 */
  g_assert_true(hv_storage_state_save(s->state, &backup, NULL));
  HvDeviceState st;
  g_autoptr(GError) err = NULL;
  g_assert_false(hv_storage_state_check(s->roots, &backup, &err));
  g_assert_error(err, HV_STORAGE_ERROR, HV_STORAGE_ERROR_STATE_BEHIND);
  g_clear_error(&err);
  g_assert_false(hv_storage_state_open(s->roots, s->state, s->f.device->pk, TRUE, &st, &err));
  g_assert_error(err, HV_STORAGE_ERROR, HV_STORAGE_ERROR_STATE_BEHIND);
  g_assert_nonnull(strstr(err->message, "--adopt-ledger"));
  g_clear_error(&err);

  /* sequence 2 used twice: next moved on, but the seal of 2 in the state is
   * the second session's while storage holds the first one's */
  g_autofree char *dup = make_session(s, s->roots[1], 2, h1, TRUE, NULL);
  g_autoptr(HvVerdict) vd = hv_vault_verify(dup, NULL, NULL);
  HvDeviceState reused = state_with(s, 3, 2, vd->seal_hash, 0);
  g_assert_false(hv_storage_state_check(s->roots, &reused, &err));
  g_assert_error(err, HV_STORAGE_ERROR, HV_STORAGE_ERROR_STATE_BEHIND);
  g_clear_error(&err);
  g_autofree char *rm = g_strdup(dup);
  g_assert_true(g_file_test(rm, G_FILE_TEST_IS_DIR));
  {
    g_autoptr(GDir) dd = g_dir_open(rm, 0, NULL);
    const char *n;
    while ((n = g_dir_read_name(dd))) {
      g_autofree char *fp = g_build_filename(rm, n, NULL);
      g_assert_cmpint(g_unlink(fp), ==, 0);
    }
  }
  g_assert_cmpint(g_rmdir(rm), ==, 0);
  /* the state that agrees is fine */
  HvDeviceState agree = state_with(s, 3, 2, h2, 0);
  g_assert_true(hv_storage_state_check(s->roots, &agree, &err));
  g_assert_no_error(err);
  /* a differing seal alone (the recorded copy gone, e.g. the working copy
   * taken away and an IO_FAILED seal left on the master) does not block */
  guint8 gone[HV_HASH_SIZE];
  randombytes_buf(gone, sizeof gone);
  HvDeviceState lone = state_with(s, 3, 2, gone, 0);
  g_assert_true(hv_storage_state_check(s->roots, &lone, &err));
  g_assert_no_error(err);

  /* adopt replaces the stale state, rebuilding from the signed sessions */
  g_assert_true(hv_storage_state_adopt(s->roots, s->state, s->f.device->pk, &st, &err));
  g_assert_no_error(err);
  g_assert_cmpuint(st.next_seq, ==, 3);
  g_assert_cmpuint(st.sealed_seq, ==, 2);
  g_assert_cmpmem(st.sealed_hash, HV_HASH_SIZE, h2, HV_HASH_SIZE);
  g_assert_true(hv_storage_state_open(s->roots, s->state, s->f.device->pk, TRUE, &st, &err));
  g_assert_cmpuint(st.next_seq, ==, 3);
  /* and now it is current: adopt refuses */
  g_assert_false(hv_storage_state_adopt(s->roots, s->state, s->f.device->pk, &st, &err));
  g_assert_error(err, HV_STORAGE_ERROR, HV_STORAGE_ERROR_STATE_EXISTS);
}

/* issue 8 (recovery defects) item 1b: one holder of a state directory */
static void
test_state_dir_lock(StFixture *s, gconstpointer data)
{
  g_autoptr(GError) err = NULL;
  int fd = hv_storage_lock_state_dir(s->state, &err);
  g_assert_no_error(err);
  g_assert_cmpint(fd, >=, 0);
  g_assert_cmpint(hv_storage_lock_state_dir(s->state, &err), ==, -1);
  g_assert_error(err, HV_STORAGE_ERROR, HV_STORAGE_ERROR_LOCKED);
  g_clear_error(&err);
  close(fd);
  fd = hv_storage_lock_state_dir(s->state, &err);
  g_assert_no_error(err);
  g_assert_cmpint(fd, >=, 0);
  close(fd);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
#define ADD(path, fn) g_test_add(path, StFixture, NULL, st_setup, fn, st_teardown)
  ADD("/storage/first-boot", test_first_boot);
  ADD("/storage/round-trip", test_round_trip);
  ADD("/storage/damaged", test_damaged);
  ADD("/storage/state-lost", test_state_lost);
  ADD("/storage/old-key-empty-storage", test_old_key_empty_storage);
  ADD("/storage/forged-header-1000", test_forged_1000);
  ADD("/storage/forged-header-max", test_forged_max);
  ADD("/storage/cross-check", test_cross_check);
  ADD("/storage/recover-only-open", test_recover_only_open);
  ADD("/storage/open-without-copy", test_open_without_copy);
  ADD("/storage/session-absent", test_session_absent);
  ADD("/storage/adopt-wrong-key", test_adopt_wrong_key);
  ADD("/storage/state-behind", test_state_behind);
  ADD("/storage/state-dir-lock", test_state_dir_lock);
  return g_test_run();
}
