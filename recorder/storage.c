// SPDX-License-Identifier: GPL-2.0-or-later
#define G_LOG_DOMAIN "haven-recorder"
#include "storage.h"
#include "vault/vault.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

G_DEFINE_QUARK(hv-storage-error-quark, hv_storage_error)

#define STATE_MAGIC "haven-device-state-v1"
#define STATE_MAX_SIZE 1024

char *
hv_storage_session_name(guint64 seq, gint64 wall_us)
{
  g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(wall_us / G_USEC_PER_SEC);
  g_autofree char *stamp = g_date_time_format(dt, "%Y%m%dT%H%M%SZ");
  return g_strdup_printf("S%06" G_GUINT64_FORMAT "-%s", seq, stamp);
}

/* ---- what storage says, checked under the device key ---- */

typedef enum { SEAL_ABSENT, SEAL_VALID, SEAL_INVALID } SealState;

typedef struct {
  const char *dir;
  HvHeader    hdr;
  gboolean    signed_ok;             /* header signature verifies under the device key */
  SealState   seal;
  guint8      seal_hash[HV_HASH_SIZE];
} Found;

typedef void (*FoundFunc)(const Found *f, gpointer user_data);

static SealState
read_seal(const char *dir, const HvHeader *h, const guint8 header_hash[HV_HASH_SIZE],
          guint8 ret_hash[HV_HASH_SIZE], guint8 *ret_status)
{
  g_autofree char *sp = g_build_filename(dir, HV_FILE_SEAL, NULL);
  struct stat st;
  if (lstat(sp, &st) < 0 && errno == ENOENT)
    return SEAL_ABSENT;
  g_autoptr(GBytes) sb = hv_file_read_bounded(sp, HV_SEAL_MAX_SIZE, NULL);
  if (!sb)
    return SEAL_INVALID;
  gsize len;
  const guint8 *data = g_bytes_get_data(sb, &len);
  HvSeal s;
  if (!hv_seal_decode(data, len, &s, NULL) || !hv_seal_verify_signature(data, len, h->device_pk) ||
      memcmp(s.session_id, h->session_id, HV_SESSION_ID_SIZE) != 0 ||
      memcmp(s.header_hash, header_hash, HV_HASH_SIZE) != 0 || s.device_seq != h->device_seq)
    return SEAL_INVALID;
  hv_hash(data, len, ret_hash);
  if (ret_status)
    *ret_status = s.status;
  return SEAL_VALID;
}

gboolean
hv_storage_session_seal(const char *dir, const guint8 *device_pk, guint64 seq, guint8 *ret_status,
                        guint8 ret_hash[HV_HASH_SIZE])
{
  g_autofree char *hp = g_build_filename(dir, HV_FILE_HEADER, NULL);
  g_autoptr(GBytes) hb = hv_file_read_bounded(hp, HV_HEADER_MAX_SIZE, NULL);
  gsize len = 0;
  const guint8 *data = hb ? g_bytes_get_data(hb, &len) : NULL;
  HvHeader h;
  if (!hb || !hv_header_decode(data, len, &h, NULL) || memcmp(h.device_pk, device_pk, HV_DEVICE_PK_SIZE) != 0 ||
      h.device_seq != seq || !hv_header_verify_signature(data, len, device_pk))
    return FALSE;
  guint8 header_hash[HV_HASH_SIZE];
  hv_hash(data, len, header_hash);
  return read_seal(dir, &h, header_hash, ret_hash, ret_status) == SEAL_VALID;
}

/* Call fn for every session under the roots whose header names this device
 * (signed or not: a forged one is reported by the caller). Returns the
 * directories whose header cannot be read and that have no seal, and counts
 * the sessions of other devices. */
static void
scan_device_sessions(char *const *roots, const guint8 *device_pk, FoundFunc fn, gpointer user_data,
                     GPtrArray *unreadable, guint64 *n_other)
{
  for (guint r = 0; roots && roots[r]; r++) {
    g_autoptr(GPtrArray) dirs = hv_vault_find_sessions(roots[r], NULL);
    for (guint i = 0; dirs && i < dirs->len; i++) {
      Found f = { .dir = dirs->pdata[i] };
      g_autofree char *hp = g_build_filename(f.dir, HV_FILE_HEADER, NULL);
      g_autoptr(GBytes) hb = hv_file_read_bounded(hp, HV_HEADER_MAX_SIZE, NULL);
      gsize len = 0;
      const guint8 *data = hb ? g_bytes_get_data(hb, &len) : NULL;
      if (!hb || !hv_header_decode(data, len, &f.hdr, NULL)) {
        g_autofree char *sp = g_build_filename(f.dir, HV_FILE_SEAL, NULL);
        if (unreadable && !g_file_test(sp, G_FILE_TEST_EXISTS))
          g_ptr_array_add(unreadable, g_strdup(f.dir));
        continue;
      }
      if (memcmp(f.hdr.device_pk, device_pk, HV_DEVICE_PK_SIZE) != 0) {
        if (n_other)
          (*n_other)++;
        continue;
      }
      f.signed_ok = hv_header_verify_signature(data, len, device_pk);
      if (f.signed_ok) {
        guint8 header_hash[HV_HASH_SIZE];
        hv_hash(data, len, header_hash);
        f.seal = read_seal(f.dir, &f.hdr, header_hash, f.seal_hash, NULL);
      }
      fn(&f, user_data);
    }
  }
}

/* ---- the state file ---- */

static gboolean
state_damaged(GError **error, const char *path, const char *what)
{
  g_set_error(error, HV_STORAGE_ERROR, HV_STORAGE_ERROR_STATE_DAMAGED, "device state %s: %s", path, what);
  return FALSE;
}

static gboolean
parse_u64(const char *s, guint64 *ret)
{
  return s && g_ascii_string_to_unsigned(s, 10, 0, G_MAXUINT64 - 1, ret, NULL);
}

static gboolean
parse_hex(const char *s, guint8 *out, gsize n)
{
  size_t len = 0;
  return s && strlen(s) == 2 * n && sodium_hex2bin(out, n, s, strlen(s), NULL, &len, NULL) == 0 && len == n;
}

gboolean
hv_storage_state_load(const char *state_dir, const guint8 *device_pk, HvDeviceState *ret_state,
                      GError **error)
{
  g_autofree char *path = g_build_filename(state_dir, HV_DEVICE_STATE_FILE, NULL);
  g_autoptr(GError) rerr = NULL;
  g_autoptr(GBytes) b = hv_file_read_bounded(path, STATE_MAX_SIZE, &rerr);
  if (!b) {
    struct stat st;
    if (lstat(path, &st) < 0 && errno == ENOENT) {
      g_set_error(error, HV_STORAGE_ERROR, HV_STORAGE_ERROR_STATE_MISSING, "device state %s: missing", path);
      return FALSE;
    }
    return state_damaged(error, path, rerr->message);
  }
  gsize size;
  const char *data = g_bytes_get_data(b, &size);
  if (memchr(data, 0, size) || !g_utf8_validate(data, (gssize) size, NULL))
    return state_damaged(error, path, "not text");
  g_autofree char *text = g_strndup(data, size);
  g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
  /* five lines and the final newline */
  if (g_strv_length(lines) != 6 || lines[5][0] != '\0' || !g_str_equal(lines[0], STATE_MAGIC))
    return state_damaged(error, path, "not a " STATE_MAGIC " file");
  g_auto(GStrv) dev = g_strsplit(lines[1], " ", -1);
  g_auto(GStrv) next = g_strsplit(lines[2], " ", -1);
  g_auto(GStrv) sealed = g_strsplit(lines[3], " ", -1);
  g_auto(GStrv) open = g_strsplit(lines[4], " ", -1);
  HvDeviceState st = { 0 };
  if (g_strv_length(dev) != 2 || !g_str_equal(dev[0], "device") || !parse_hex(dev[1], st.device_pk, HV_DEVICE_PK_SIZE) ||
      g_strv_length(next) != 2 || !g_str_equal(next[0], "next") || !parse_u64(next[1], &st.next_seq) ||
      g_strv_length(sealed) != 3 || !g_str_equal(sealed[0], "sealed") || !parse_u64(sealed[1], &st.sealed_seq) ||
      !parse_hex(sealed[2], st.sealed_hash, HV_HASH_SIZE) ||
      g_strv_length(open) != 2 || !g_str_equal(open[0], "open") || !parse_u64(open[1], &st.open_seq))
    return state_damaged(error, path, "a line does not parse (expected device, next, sealed, open)");
  if (memcmp(st.device_pk, device_pk, HV_DEVICE_PK_SIZE) != 0) {
    g_autofree char *id = hv_key_id(st.device_pk, HV_DEVICE_PK_SIZE);
    g_set_error(error, HV_STORAGE_ERROR, HV_STORAGE_ERROR_STATE_FOREIGN,
                "device state %s: belongs to another device key (device %s), not this one: wrong --device-key?",
                path, id);
    return FALSE;
  }
  if (st.next_seq < 1 || st.sealed_seq >= st.next_seq || st.open_seq >= st.next_seq)
    return state_damaged(error, path, "sequences out of order (sealed and open must be below next)");
  *ret_state = st;
  return TRUE;
}

gboolean
hv_storage_state_save(const char *state_dir, const HvDeviceState *st, GError **error)
{
  g_return_val_if_fail(st->next_seq >= 1 && st->sealed_seq < st->next_seq && st->open_seq < st->next_seq, FALSE);
  g_autofree char *pk = hv_hex(st->device_pk, HV_DEVICE_PK_SIZE);
  g_autofree char *hash = hv_hex(st->sealed_hash, HV_HASH_SIZE);
  g_autofree char *text = g_strdup_printf(STATE_MAGIC "\ndevice %s\nnext %" G_GUINT64_FORMAT "\nsealed %"
                                          G_GUINT64_FORMAT " %s\nopen %" G_GUINT64_FORMAT "\n",
                                          pk, st->next_seq, st->sealed_seq, hash, st->open_seq);
  g_autoptr(GError) err = NULL;
  if (!hv_file_write_atomic(state_dir, HV_DEVICE_STATE_FILE, text, strlen(text), 0640, &err)) {
    g_set_error(error, HV_STORAGE_ERROR, HV_STORAGE_ERROR_IO, "device state not saved: %s", err->message);
    return FALSE;
  }
  return TRUE;
}

/* ---- adopting what signed storage says ---- */

typedef struct {
  HvDeviceState st;
  guint64 n_signed;
  guint64 n_other;
} Adopt;

static void
adopt_one(const Found *f, gpointer ud)
{
  Adopt *a = ud;
  if (!f->signed_ok || f->hdr.device_seq == 0 || f->hdr.device_seq == G_MAXUINT64)
    return;
  a->n_signed++;
  a->st.next_seq = MAX(a->st.next_seq, f->hdr.device_seq + 1);
  if (f->seal == SEAL_VALID && f->hdr.device_seq > a->st.sealed_seq) {
    a->st.sealed_seq = f->hdr.device_seq;
    memcpy(a->st.sealed_hash, f->seal_hash, HV_HASH_SIZE);
  }
}

static void
adopt_scan(char *const *roots, const guint8 *device_pk, Adopt *ret)
{
  Adopt a = { .st = { .next_seq = 1 } };
  memcpy(a.st.device_pk, device_pk, HV_DEVICE_PK_SIZE);
  scan_device_sessions(roots, device_pk, adopt_one, &a, NULL, &a.n_other);
  *ret = a;
}

/* ---- is the state behind signed storage? ---- */

typedef struct {
  const HvDeviceState *st;
  guint64 ahead_seq;               /* newest signed sequence >= next, 0: none */
  char   *ahead_dir;
  GPtrArray *matching;             /* session ids (16 bytes) whose seal is the state's */
  GPtrArray *differing;            /* ... whose verified seal of sealed_seq is another */
  char   *differing_dir;
} Behind;

static void
behind_one(const Found *f, gpointer ud)
{
  Behind *b = ud;
  guint64 seq = f->hdr.device_seq;
  if (!f->signed_ok)
    return;                        /* forged or altered: never decides anything */
  if (seq >= b->st->next_seq && seq >= b->ahead_seq) {
    b->ahead_seq = seq;
    g_free(b->ahead_dir);
    b->ahead_dir = g_strdup(f->dir);
  }
  if (f->seal != SEAL_VALID || seq != b->st->sealed_seq || seq == 0)
    return;
  gboolean same = sodium_memcmp(f->seal_hash, b->st->sealed_hash, HV_HASH_SIZE) == 0;
  g_ptr_array_add(same ? b->matching : b->differing, g_memdup2(f->hdr.session_id, HV_SESSION_ID_SIZE));
  if (!same && !b->differing_dir)
    b->differing_dir = g_strdup(f->dir);
}

static gboolean
id_in(GPtrArray *ids, const guint8 *id)
{
  for (guint i = 0; i < ids->len; i++)
    if (memcmp(ids->pdata[i], id, HV_SESSION_ID_SIZE) == 0)
      return TRUE;
  return FALSE;
}

gboolean
hv_storage_state_check(char *const *roots, const HvDeviceState *state, GError **error)
{
  Behind b = { .st = state, .matching = g_ptr_array_new_with_free_func(g_free),
               .differing = g_ptr_array_new_with_free_func(g_free) };
  scan_device_sessions(roots, state->device_pk, behind_one, &b, NULL, NULL);
  /* Copies of one session may carry different seals (IO_FAILED on the root
   * that failed, while the COMPLETE copy may have been taken away): only a
   * seal of another session next to the one the state recorded shows that
   * the sequence was used twice. */
  gboolean other_session = FALSE;
  for (guint i = 0; b.matching->len > 0 && i < b.differing->len; i++)
    if (!id_in(b.matching, b.differing->pdata[i]))
      other_session = TRUE;
  gboolean ok = TRUE;
  if (b.ahead_dir) {
    g_set_error(error, HV_STORAGE_ERROR, HV_STORAGE_ERROR_STATE_BEHIND,
                "the device state is behind storage: %s holds sequence %" G_GUINT64_FORMAT ", signed by this "
                "device, but the state's next sequence is %" G_GUINT64_FORMAT " (restored from an old backup?); "
                "recording is refused so that no sequence is used twice: check the archive, stop havend, run "
                "'haven recover --device-key KEY --state-dir DIR --adopt-ledger ROOT...', then start havend",
                b.ahead_dir, b.ahead_seq, state->next_seq);
    ok = FALSE;
  } else if (other_session) {
    g_set_error(error, HV_STORAGE_ERROR, HV_STORAGE_ERROR_STATE_BEHIND,
                "the device state is behind storage: %s holds a seal of sequence %" G_GUINT64_FORMAT ", signed "
                "by this device, for another session than the one the state recorded (the sequence was used "
                "twice; state restored from an old backup?); recording is refused: check the archive, stop "
                "havend, run 'haven recover --device-key KEY --state-dir DIR --adopt-ledger ROOT...', then "
                "start havend", b.differing_dir, state->sealed_seq);
    ok = FALSE;
  }
  g_free(b.ahead_dir);
  g_free(b.differing_dir);
  g_ptr_array_unref(b.matching);
  g_ptr_array_unref(b.differing);
  return ok;
}

/* ---- the state directory lock ---- */

int
hv_storage_lock_state_dir(const char *state_dir, GError **error)
{
  g_autofree char *path = g_build_filename(state_dir, HV_STATE_LOCK_FILE, NULL);
  /* read-only and world-readable: it holds no data, and havend (user haven)
   * must still be able to lock it after root's haven recover created it */
  int fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0644);
  if (fd < 0) {
    int e = errno;
    g_set_error(error, HV_STORAGE_ERROR, HV_STORAGE_ERROR_IO, "lock file %s cannot be opened: %s", path,
                g_strerror(e));
    return -1;
  }
  if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
    int e = errno;
    close(fd);
    if (e == EWOULDBLOCK)
      g_set_error(error, HV_STORAGE_ERROR, HV_STORAGE_ERROR_LOCKED,
                  "another havend is running with state directory %s (it holds %s)", state_dir, path);
    else
      g_set_error(error, HV_STORAGE_ERROR, HV_STORAGE_ERROR_IO, "lock file %s cannot be locked: %s", path,
                  g_strerror(e));
    return -1;
  }
  return fd;
}

gboolean
hv_storage_state_open(char *const *roots, const char *state_dir, const guint8 *device_pk,
                      gboolean key_is_new, HvDeviceState *ret_state, GError **error)
{
  g_autoptr(GError) err = NULL;
  HvDeviceState st;
  if (hv_storage_state_load(state_dir, device_pk, &st, &err)) {
    if (!hv_storage_state_check(roots, &st, error))
      return FALSE;
    *ret_state = st;
    return TRUE;
  }
  Adopt a;
  adopt_scan(roots, device_pk, &a);
  if (a.n_signed > 0) {
    g_set_error(error, HV_STORAGE_ERROR, HV_STORAGE_ERROR_STATE_LOST,
                "%s, but storage holds %" G_GUINT64_FORMAT " session%s signed by this device (up to sequence %"
                G_GUINT64_FORMAT "): the next sequence is not guessed; a technician must check the archive, stop "
                "havend, run 'haven recover --device-key KEY --state-dir DIR --adopt-ledger ROOT...', then start "
                "havend again", err->message, a.n_signed, a.n_signed == 1 ? "" : "s",
                a.st.next_seq - 1);
    return FALSE;
  }
  if (!g_error_matches(err, HV_STORAGE_ERROR, HV_STORAGE_ERROR_STATE_MISSING)) {
    g_propagate_error(error, g_steal_pointer(&err));
    return FALSE;
  }
  if (!key_is_new) {
    g_set_error(error, HV_STORAGE_ERROR, HV_STORAGE_ERROR_STATE_LOST,
                "%s, and the device key is not new: its sessions may have been taken off this storage, and "
                "starting again at sequence 1 would reuse their numbers; the next sequence is not guessed: a "
                "technician must check where this device's sessions are, stop havend, run 'haven recover "
                "--device-key KEY --state-dir DIR --adopt-ledger ROOT...' over them, then start havend again",
                err->message);
    return FALSE;
  }
  /* first boot: a new key, no state, and nothing in storage signed by it */
  if (!hv_storage_state_save(state_dir, &a.st, error))
    return FALSE;
  *ret_state = a.st;
  return TRUE;
}

gboolean
hv_storage_state_adopt(char *const *roots, const char *state_dir, const guint8 *device_pk,
                       HvDeviceState *ret_state, GError **error)
{
  HvDeviceState cur;
  g_autoptr(GError) lerr = NULL;
  if (state_dir && hv_storage_state_load(state_dir, device_pk, &cur, &lerr)) {
    if (hv_storage_state_check(roots, &cur, NULL)) {
      g_set_error(error, HV_STORAGE_ERROR, HV_STORAGE_ERROR_STATE_EXISTS,
                  "device state in %s is valid and not behind the signed sessions (next sequence %"
                  G_GUINT64_FORMAT "): refusing to replace it", state_dir, cur.next_seq);
      return FALSE;
    }
    /* behind signed storage: stale, replaced below */
  } else if (state_dir && g_error_matches(lerr, HV_STORAGE_ERROR, HV_STORAGE_ERROR_STATE_FOREIGN)) {
    g_set_error(error, HV_STORAGE_ERROR, HV_STORAGE_ERROR_STATE_FOREIGN,
                "%s; refusing to replace it (if it really is not this device's state, move it away yourself)",
                lerr->message);
    return FALSE;
  }
  Adopt a;
  adopt_scan(roots, device_pk, &a);
  if (state_dir && a.n_signed == 0 && a.n_other > 0) {
    g_set_error(error, HV_STORAGE_ERROR, HV_STORAGE_ERROR_FOREIGN_ARCHIVE,
                "no session under the given paths is signed by this device key, but %" G_GUINT64_FORMAT
                " session%s of other devices %s: wrong --device-key? nothing was changed", a.n_other,
                a.n_other == 1 ? "" : "s", a.n_other == 1 ? "is" : "are");
    return FALSE;
  }
  if (state_dir && !hv_storage_state_save(state_dir, &a.st, error))
    return FALSE;
  *ret_state = a.st;
  return TRUE;
}

/* ---- cross-check ---- */

typedef struct {
  const HvDeviceState *st;
  GPtrArray *problems;
} Check;

static void
check_one(const Found *f, gpointer ud)
{
  Check *c = ud;
  const HvDeviceState *st = c->st;
  guint64 seq = f->hdr.device_seq;
  if (!f->signed_ok)
    g_ptr_array_add(c->problems, g_strdup_printf("%s: header claims this device (sequence %" G_GUINT64_FORMAT
                                                 ") but its signature does not verify: forged or altered, "
                                                 "ignored", f->dir, seq));
  else if (seq == 0 || seq >= st->next_seq)
    g_ptr_array_add(c->problems, g_strdup_printf("%s: sequence %" G_GUINT64_FORMAT " was never allocated by "
                                                 "this device (next is %" G_GUINT64_FORMAT "): not adopted",
                                                 f->dir, seq, st->next_seq));
  else if (f->seal == SEAL_INVALID)
    g_ptr_array_add(c->problems, g_strdup_printf("%s: sequence %" G_GUINT64_FORMAT ": seal.hvs is not a valid "
                                                 "seal of this session", f->dir, seq));
  else if (f->seal == SEAL_VALID && seq == st->sealed_seq &&
           sodium_memcmp(f->seal_hash, st->sealed_hash, HV_HASH_SIZE) != 0)
    g_ptr_array_add(c->problems, g_strdup_printf("%s: sequence %" G_GUINT64_FORMAT ": its seal is not the one "
                                                 "this device wrote", f->dir, seq));
  else if (f->seal == SEAL_ABSENT && seq != st->open_seq)
    g_ptr_array_add(c->problems, g_strdup_printf("%s: sequence %" G_GUINT64_FORMAT " has no seal but is not "
                                                 "the session the device left open (%s): damaged, left "
                                                 "untouched", f->dir, seq,
                                                 seq <= st->sealed_seq ? "the device sealed it" : "never recovered"));
}

GPtrArray *
hv_storage_cross_check(char *const *roots, const HvDeviceState *state)
{
  Check c = { .st = state, .problems = g_ptr_array_new_with_free_func(g_free) };
  scan_device_sessions(roots, state->device_pk, check_one, &c, NULL, NULL);
  return c.problems;
}

typedef struct {
  guint64 seq;
  HvStorageSummary *sum;
} Summarize;

static void
summarize_one(const Found *f, gpointer ud)
{
  Summarize *z = ud;
  if (!f->signed_ok)
    return;
  z->sum->n_signed++;
  z->sum->newest_seq = MAX(z->sum->newest_seq, f->hdr.device_seq);
  if (f->hdr.device_seq != z->seq)
    return;
  z->sum->seq_copies++;
  z->sum->seq_sealed += f->seal == SEAL_VALID;
  z->sum->seq_unsealed += f->seal == SEAL_ABSENT;
}

void
hv_storage_summarize(char *const *roots, const guint8 *device_pk, guint64 seq, HvStorageSummary *ret)
{
  HvStorageSummary sum = { 0 };
  Summarize z = { .seq = seq, .sum = &sum };
  scan_device_sessions(roots, device_pk, summarize_one, &z, NULL, &sum.n_other_device);
  *ret = sum;
}

gboolean
hv_storage_session_exists(char *const *roots, guint64 seq)
{
  g_autofree char *prefix = g_strdup_printf("S%06" G_GUINT64_FORMAT "-", seq);
  for (guint r = 0; roots && roots[r]; r++) {
    g_autoptr(GDir) d = g_dir_open(roots[r], 0, NULL);
    const char *n;
    while (d && (n = g_dir_read_name(d)))
      if (g_str_has_prefix(n, prefix))
        return TRUE;
  }
  return FALSE;
}

gboolean
hv_storage_session_absent(char *const *roots, guint64 seq)
{
  g_autofree char *prefix = g_strdup_printf("S%06" G_GUINT64_FORMAT "-", seq);
  for (guint r = 0; roots && roots[r]; r++) {
    g_autoptr(GError) err = NULL;
    g_autoptr(GDir) d = g_dir_open(roots[r], 0, &err);
    if (!d) {
      /* missing (a disk that dropped out), unreadable, out of descriptors:
       * the session may be there */
      g_warning("cannot tell whether session sequence %" G_GUINT64_FORMAT " exists: %s", seq, err->message);
      return FALSE;
    }
    const char *n;
    while ((n = g_dir_read_name(d)))
      if (g_str_has_prefix(n, prefix))
        return FALSE;
  }
  return TRUE;
}

/* ---- recovery ---- */

typedef struct {
  const HvDeviceKey *key;
  HvDeviceState *st;
  HvRecoveredFunc cb;
  gpointer ud;
  guint n;
  gboolean found_open, sealed_open, open_failed;
  guint8 first_hash[HV_HASH_SIZE];
} Recover;

static void
recover_one(const Found *f, gpointer ud)
{
  Recover *r = ud;
  guint64 seq = f->hdr.device_seq;
  if (f->signed_ok && r->st && seq == r->st->open_seq)
    r->found_open = TRUE;
  if (f->signed_ok && f->seal == SEAL_VALID && r->st && seq == r->st->open_seq && !r->sealed_open) {
    /* sealed, but the crash came before the state recorded it */
    r->sealed_open = TRUE;
    memcpy(r->first_hash, f->seal_hash, HV_HASH_SIZE);
  }
  if (f->signed_ok && f->seal == SEAL_INVALID && r->cb) {
    g_autofree char *why = g_strdup_printf("sequence %" G_GUINT64_FORMAT ": %s exists but is not a valid seal "
                                           "of this session: not re-sealed, left untouched for examination",
                                           seq, HV_FILE_SEAL);
    r->cb(f->dir, seq, NULL, 0, why, r->ud);
  }
  if (!f->signed_ok || f->seal != SEAL_ABSENT)
    return; /* forged headers are reported by the cross-check; sealed sessions stay sealed */
  if (!r->st || seq != r->st->open_seq || seq == 0) {
    if (r->cb) {
      g_autofree char *why = g_strdup_printf(
          "sequence %" G_GUINT64_FORMAT " is unsealed but %s: not re-sealed, left untouched for examination",
          seq, !r->st ? "the device state is unusable, so it cannot be told apart from a session whose seal "
                        "was removed"
               : seq <= r->st->sealed_seq ? "the device already sealed it (seal removed: damaged)"
                                          : "it is not the session the device left open");
      r->cb(f->dir, seq, NULL, 0, why, r->ud);
    }
    return;
  }
  HvRecoverResult res;
  g_autoptr(GError) err = NULL;
  if (!hv_vault_recover(f->dir, r->key, &res, &err)) {
    r->open_failed = TRUE;
    if (r->cb)
      r->cb(f->dir, seq, NULL, 0, err->message, r->ud);
    return;
  }
  if (!res.recovered)
    return;
  r->n++;
  if (!r->sealed_open) {
    r->sealed_open = TRUE;
    memcpy(r->first_hash, res.seal_hash, HV_HASH_SIZE);
  }
  g_autofree char *fp = hv_fingerprint_from_seal_hash(res.seal_hash);
  if (r->cb)
    r->cb(f->dir, seq, fp, res.kept_records, NULL, r->ud);
}

guint
hv_storage_recover_open(char *const *roots, const HvDeviceKey *key, const char *state_dir,
                        HvDeviceState *state, HvRecoveredFunc cb, gpointer user_data)
{
  Recover r = { .key = key, .st = state, .cb = cb, .ud = user_data };
  g_autoptr(GPtrArray) unreadable = g_ptr_array_new_with_free_func(g_free);
  scan_device_sessions(roots, key->pk, recover_one, &r, unreadable, NULL);
  for (guint i = 0; cb && i < unreadable->len; i++)
    cb(unreadable->pdata[i], 0, NULL, 0, "no readable header: cannot be recovered, keep it for examination",
       user_data);
  if (state && state->open_seq && !r.found_open && cb) {
    g_autofree char *why =
        state_dir ? g_strdup_printf("sequence %" G_GUINT64_FORMAT " was reserved for a session but no copy of it "
                                    "is in storage (a crash before its header was written, or storage "
                                    "missing): it stays open and is never reused", state->open_seq)
                  : g_strdup_printf("no session with sequence %" G_GUINT64_FORMAT " signed by this device key "
                                    "was found: nothing to seal", state->open_seq);
    cb(state_dir ? state_dir : "--open-seq", state->open_seq, NULL, 0, why, user_data);
  }
  if (state && state->open_seq && r.found_open && !r.open_failed) {
    /* every copy of the open session is sealed (or none exists): settled */
    if (r.sealed_open && state->open_seq > state->sealed_seq) {
      state->sealed_seq = state->open_seq;
      memcpy(state->sealed_hash, r.first_hash, HV_HASH_SIZE);
    }
    state->open_seq = 0;
    g_autoptr(GError) err = NULL;
    if (state_dir && !hv_storage_state_save(state_dir, state, &err) && cb)
      cb(state_dir, 0, NULL, 0, err->message, user_data);
  }
  return r.n;
}

gboolean
hv_storage_free_bytes(const char *root, guint64 *ret_bytes, GError **error)
{
  struct statvfs st;
  if (statvfs(root, &st) < 0) {
    g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_IO, "storage %s: %s", root, g_strerror(errno));
    return FALSE;
  }
  *ret_bytes = (guint64) st.f_bavail * st.f_frsize;
  return TRUE;
}
