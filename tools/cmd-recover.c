// SPDX-License-Identifier: GPL-2.0-or-later
/* haven recover: seal the session a crash or power cut left open, as havend
 * does at start, and nothing else; or rebuild a lost device state. */
#include "cli.h"
#include "storage.h"
#include "vault/vault.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define OPEN_SEQ_UNSET G_MININT64

typedef struct {
  GHashTable *reported;   /* dirs printed by the callback */
  gboolean    failed;
} Out;

static void
on_recovered(const char *dir, guint64 seq, const char *fp, guint64 kept, const char *error, gpointer ud)
{
  Out *o = ud;
  g_hash_table_add(o->reported, g_strdup(dir));
  if (error) {
    printf("NOT SEALED  %s: %s\n", dir, error);
    o->failed = TRUE;
  } else {
    printf("RECOVERED   %s: sequence %" G_GUINT64_FORMAT " sealed INTERRUPTED, %" G_GUINT64_FORMAT
           " %s kept, fingerprint %s\n", dir, seq, kept, hv_cli_plural(kept, "record", "records"), fp);
  }
}

typedef enum { OWNER_UNREADABLE, OWNER_OTHER_DEVICE, OWNER_FORGED, OWNER_THIS_DEVICE } Owner;

/* Whose session dir is, as far as its header tells; ret_id: the device id it names. */
static Owner
session_owner(const char *dir, const HvDeviceKey *key, char **ret_id)
{
  g_autofree char *hp = g_build_filename(dir, HV_FILE_HEADER, NULL);
  g_autoptr(GBytes) hb = hv_file_read_bounded(hp, HV_HEADER_MAX_SIZE, NULL);
  gsize len = 0;
  const guint8 *data = hb ? g_bytes_get_data(hb, &len) : NULL;
  HvHeader h;
  if (!hb || !hv_header_decode(data, len, &h, NULL))
    return OWNER_UNREADABLE;
  *ret_id = hv_key_id(h.device_pk, HV_DEVICE_PK_SIZE);
  if (memcmp(h.device_pk, key->pk, HV_DEVICE_PK_SIZE) != 0)
    return OWNER_OTHER_DEVICE;
  return hv_header_verify_signature(data, len, key->pk) ? OWNER_THIS_DEVICE : OWNER_FORGED;
}

/* The sessions the recovery did not mention: sealed ones, and unsealed ones
 * whose header this key did not sign (another device's, or forged). */
static void
print_left_alone(char *const *paths, const HvDeviceKey *key, Out *o)
{
  for (guint i = 0; paths[i]; i++) {
    g_autoptr(GPtrArray) dirs = hv_vault_find_sessions(paths[i], NULL);
    for (guint k = 0; dirs && k < dirs->len; k++) {
      const char *dir = dirs->pdata[k];
      if (g_hash_table_contains(o->reported, dir))
        continue;
      g_autofree char *seal = g_build_filename(dir, HV_FILE_SEAL, NULL);
      gboolean sealed = g_file_test(seal, G_FILE_TEST_EXISTS) || g_file_test(seal, G_FILE_TEST_IS_SYMLINK);
      g_autofree char *id = NULL;
      Owner owner = session_owner(dir, key, &id);
      const char *label = sealed ? "LEFT ALONE " : "NOT SEALED ";
      switch (owner) {
      case OWNER_OTHER_DEVICE:
        printf("%s %s: its header is not signed by this device key: a session of another device (device %s); "
               "left alone\n", label, dir, id);
        break;
      case OWNER_FORGED:
        printf("%s %s: its header names this device but its signature does not verify (forged or altered); "
               "left alone\n", label, dir);
        break;
      case OWNER_UNREADABLE:
        printf("%s %s: no readable header; left alone\n", label, dir);
        break;
      case OWNER_THIS_DEVICE:
        printf("%s %s: %s\n", label, dir, sealed ? "already sealed by this device" : "left alone");
        break;
      }
      if (!sealed)
        o->failed = TRUE;
    }
  }
}

/* Without a device state: the technician's statement that open_seq was left
 * open, checked against what storage shows under this key. */
static gboolean
stated_state(char *const *paths, const HvDeviceKey *key, guint64 open_seq, HvDeviceState *ret,
             HvStorageSummary *ret_sum, GError **error)
{
  HvStorageSummary sum;
  hv_storage_summarize(paths, key->pk, open_seq, &sum);
  *ret_sum = sum;
  /* no copy of open_seq at all: the recovery reports it (NOT SEALED, exit 1) */
  if (sum.seq_unsealed > 0 && sum.newest_seq > open_seq) {
    g_set_error(error, HV_STORAGE_ERROR, HV_STORAGE_ERROR_STATE_DAMAGED,
                "sequence %" G_GUINT64_FORMAT " cannot have been left open by a crash: this device went on to "
                "sequence %" G_GUINT64_FORMAT "; a copy of it without seal.hvs lost its seal (damaged, not "
                "interrupted) and is never re-sealed", open_seq, sum.newest_seq);
    return FALSE;
  }
  if (sum.seq_copies > 0 && sum.seq_unsealed == 0)
    printf("NOTHING TO SEAL  sequence %" G_GUINT64_FORMAT ": no copy lacks its seal (already sealed, or "
           "reported below)\n", open_seq);
  HvDeviceState st = { .next_seq = open_seq + 1, .open_seq = open_seq };
  memcpy(st.device_pk, key->pk, HV_DEVICE_PK_SIZE);
  *ret = st;
  return TRUE;
}

/* The device's own state, checked against signed storage. */
static gboolean
device_state(char *const *paths, const HvDeviceKey *key, const char *state_dir, HvDeviceState *ret,
             GError **error)
{
  HvDeviceState st;
  if (!hv_storage_state_load(state_dir, key->pk, &st, error) || !hv_storage_state_check(paths, &st, error))
    return FALSE;
  *ret = st;
  return TRUE;
}

static int
adopt(char *const *paths, const HvDeviceKey *key, const char *state_dir)
{
  g_autoptr(GError) err = NULL;
  HvDeviceState old, st;
  gboolean had_state = hv_storage_state_load(state_dir, key->pk, &old, NULL);
  g_autoptr(GError) why_stale = NULL;
  gboolean stale = had_state && !hv_storage_state_check(paths, &old, &why_stale);
  if (!hv_storage_state_adopt(paths, state_dir, key->pk, &st, &err)) {
    hv_cli_error("recover", "%s", err->message);
    return g_error_matches(err, HV_STORAGE_ERROR, HV_STORAGE_ERROR_FOREIGN_ARCHIVE) ? HV_EXIT_INTEGRITY
                                                                                    : HV_EXIT_USAGE;
  }
  HvStorageSummary sum;
  hv_storage_summarize(paths, key->pk, 0, &sum);
  if (stale)
    printf("REPLACED    the device state in %s (next sequence %" G_GUINT64_FORMAT "): it was behind the signed "
           "sessions (%s)\n", state_dir, old.next_seq, why_stale ? why_stale->message : "?");
  if (sum.n_signed == 0)
    printf("ADOPTED     device state in %s from an EMPTY archive: no session under the given paths is signed "
           "by this device key, so the ledger starts again at sequence 1 (next sequence 1, no seal, no session "
           "open)\n", state_dir);
  else
    printf("ADOPTED     device state in %s from %" G_GUINT64_FORMAT " signed session%s: next sequence %"
           G_GUINT64_FORMAT ", newest seal sequence %" G_GUINT64_FORMAT ", no session open\n", state_dir,
           sum.n_signed, sum.n_signed == 1 ? "" : "s", st.next_seq, st.sealed_seq);
  printf("Start havend now: it reads the device state when it starts.\n");
  return HV_EXIT_OK;
}

static const char DESCRIPTION[] =
  "PATH is a storage root (a folder of session directories) or a session directory;\n"
  "several may be given. --device-key is the device's SECRET key file (device.key,\n"
  "haven-device-secret-v1), as havend uses it: recovery signs the seal with it.\n"
  "\n"
  "Seals only the session the device left open: the one the device state (--state-dir)\n"
  "names, or, on a copy without the device state, the sequence given with --open-seq.\n"
  "It keeps the records that a signed checkpoint vouches for, drops the torn tail and\n"
  "writes an INTERRUPTED seal signed by the device key; the seal is derived from the\n"
  "files alone, so identical copies give identical fingerprints. A session that\n"
  "cannot be checked (no index, a damaged seal, records that disagree with a signed\n"
  "checkpoint) is left untouched. With --state-dir a session the device sealed is\n"
  "never sealed again, even with its seal removed; --open-seq cannot tell a removed\n"
  "seal from a crash (only a later signed sequence shows it): use --state-dir\n"
  "whenever the device state exists.\n"
  "havend does this itself at every start.\n"
  "\n"
  "Never while havend records: havend holds a lock on its state directory for its\n"
  "whole life and a lock on each session's records.hvr while it records it. With\n"
  "--state-dir (and --adopt-ledger) recover takes the state directory's lock and\n"
  "refuses while havend runs: stop havend first. Without it, a session being\n"
  "recorded is refused by its records.hvr lock.\n"
  "\n"
  "--adopt-ledger is the technician's answer to a lost, damaged or stale device state\n"
  "(restored from an old backup: signed storage is ahead of it). It rebuilds the state\n"
  "from the sessions whose signatures verify under the key. It refuses to replace a\n"
  "state file of another device key, or a valid one that is not behind storage, and\n"
  "refuses when PATH holds only other devices' sessions (wrong --device-key?). It says\n"
  "so when PATH holds no session at all. Start havend again afterwards.\n"
  "\n"
  "Exit status: 0 the open session was sealed, or nothing needed sealing, or the\n"
  "state was adopted; 1 a session could not be sealed or was left alone unsealed\n"
  "(damaged, another device's, being recorded), no copy of the open sequence was\n"
  "found, or --adopt-ledger found only other devices' sessions; 2 bad arguments or\n"
  "key, havend running, a device state that is unusable, another key's or behind\n"
  "storage, or an --open-seq that cannot be the open session: nothing was changed.";

int
hv_cmd_recover(int argc, char **argv)
{
  g_autofree char *key_path = NULL, *state_dir = NULL;
  gint64 open_seq = OPEN_SEQ_UNSET;
  gboolean adopt_ledger = FALSE;
  GOptionEntry entries[] = {
    { "device-key", 0, 0, G_OPTION_ARG_FILENAME, &key_path,
      "The device's secret signing key file (device.key, as havend uses it)", "FILE" },
    { "state-dir", 0, 0, G_OPTION_ARG_FILENAME, &state_dir,
      "The device's state directory (havend stopped): it says which session was left open", "DIR" },
    { "open-seq", 0, 0, G_OPTION_ARG_INT64, &open_seq,
      "Without a device state: the technician states that sequence N (N >= 1) was left open", "N" },
    { "adopt-ledger", 0, 0, G_OPTION_ARG_NONE, &adopt_ledger,
      "Rebuild a lost, damaged or stale device state in --state-dir from the signed sessions under PATH", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new("PATH... - seal the open session INTERRUPTED");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_option_context_set_description(ctx, DESCRIPTION);
  if (!hv_cli_parse(ctx, &argc, &argv))
    return HV_EXIT_USAGE;
  gboolean have_open_seq = open_seq != OPEN_SEQ_UNSET;
  if (!key_path || argc < 2) {
    hv_cli_error("recover", "--device-key FILE and at least one PATH are required");
    return HV_EXIT_USAGE;
  }
  if (have_open_seq && open_seq < 1) {
    hv_cli_error("recover", "--open-seq %" G_GINT64_FORMAT ": N must be at least 1 (device sequences start at 1)",
                 open_seq);
    return HV_EXIT_USAGE;
  }
  if (adopt_ledger ? (!state_dir || have_open_seq) : (!state_dir == !have_open_seq)) {
    hv_cli_error("recover", adopt_ledger ? "--adopt-ledger needs --state-dir DIR (and no --open-seq)"
                 : "give exactly one of --state-dir DIR (the device's state: which session was left open) "
                   "or --open-seq N (no device state: you state which sequence was left open); without "
                   "either, a session whose seal was removed cannot be told apart from a crashed one");
    return HV_EXIT_USAGE;
  }
  g_autoptr(GError) err = NULL;
  g_autoptr(HvDeviceKey) key = hv_device_key_load(key_path, &err);
  if (!key) {
    hv_cli_error("recover", "%s", err->message);
    return HV_EXIT_USAGE;
  }
  char **paths = argv + 1;
  for (guint i = 0; paths[i]; i++) {
    if (!g_file_test(paths[i], G_FILE_TEST_IS_DIR)) {
      hv_cli_error("recover", "%s: not a directory", paths[i]);
      return HV_EXIT_USAGE;
    }
  }
  int lock_fd = -1;
  if (state_dir && (lock_fd = hv_storage_lock_state_dir(state_dir, &err)) < 0) {
    if (g_error_matches(err, HV_STORAGE_ERROR, HV_STORAGE_ERROR_LOCKED))
      hv_cli_error("recover", "havend is running with state directory %s: stop it first, then run haven recover "
                   "again (and start havend afterwards); nothing was changed", state_dir);
    else
      hv_cli_error("recover", "%s; nothing was changed", err->message);
    return HV_EXIT_USAGE;
  }
  int rc;
  if (adopt_ledger) {
    rc = adopt(paths, key, state_dir);
  } else {
    HvDeviceState st;
    HvStorageSummary sum = { 0 };
    gboolean ok = state_dir ? device_state(paths, key, state_dir, &st, &err)
                            : stated_state(paths, key, (guint64) open_seq, &st, &sum, &err);
    if (!ok) {
      gboolean hint = state_dir && (g_error_matches(err, HV_STORAGE_ERROR, HV_STORAGE_ERROR_STATE_MISSING) ||
                                    g_error_matches(err, HV_STORAGE_ERROR, HV_STORAGE_ERROR_STATE_DAMAGED));
      hv_cli_error("recover", "%s; nothing was changed%s", err->message,
                   hint ? " (check the archive, then --adopt-ledger)" : "");
      rc = HV_EXIT_USAGE;
    } else {
      Out o = { .reported = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL) };
      hv_storage_recover_open(paths, key, state_dir, &st, on_recovered, &o);
      print_left_alone(paths, key, &o);
      if (!state_dir && sum.n_signed == 0 && sum.n_other_device > 0) {
        printf("NOT SEALED  no session under the given paths is signed by this device key, but %" G_GUINT64_FORMAT
               " session%s of other devices %s: wrong --device-key?\n", sum.n_other_device,
               sum.n_other_device == 1 ? "" : "s", sum.n_other_device == 1 ? "is" : "are");
        o.failed = TRUE;
      }
      g_hash_table_unref(o.reported);
      rc = o.failed ? HV_EXIT_INTEGRITY : HV_EXIT_OK;
    }
  }
  if (lock_fd >= 0)
    close(lock_fd);
  return rc;
}
