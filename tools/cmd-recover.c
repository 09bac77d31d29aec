// SPDX-License-Identifier: GPL-2.0-or-later
/* haven recover: seal the session a crash or power cut left open, as havend
 * does at start, and nothing else. */
#include "cli.h"
#include "storage.h"
#include "vault-verify.h"

#include <stdio.h>
#include <string.h>

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
           " records kept, fingerprint %s\n", dir, seq, kept, fp);
  }
}

/* The sessions the recovery did not mention: sealed ones, and unsealed ones
 * whose header this key did not sign (another device's, or forged). */
static void
print_left_alone(char *const *paths, Out *o)
{
  for (guint i = 0; paths[i]; i++) {
    g_autoptr(GPtrArray) dirs = hv_vault_find_sessions(paths[i], NULL);
    for (guint k = 0; dirs && k < dirs->len; k++) {
      const char *dir = dirs->pdata[k];
      if (g_hash_table_contains(o->reported, dir))
        continue;
      g_autofree char *seal = g_build_filename(dir, HV_FILE_SEAL, NULL);
      if (g_file_test(seal, G_FILE_TEST_EXISTS) || g_file_test(seal, G_FILE_TEST_IS_SYMLINK)) {
        printf("LEFT ALONE  %s: already sealed\n", dir);
      } else {
        printf("NOT SEALED  %s: its header is not signed by this device key; left alone\n", dir);
        o->failed = TRUE;
      }
    }
  }
}

/* The state to recover with: the device's own, or the technician's statement. */
static gboolean
recovery_state(char *const *paths, const HvDeviceKey *key, const char *state_dir, gint64 open_seq,
               HvDeviceState *ret, GError **error)
{
  if (state_dir)
    return hv_storage_state_load(state_dir, key->pk, ret, error);
  /* no device state: sequence open_seq is sealed only if nothing shows the
   * device went on past it (a later session of this device, signed) */
  HvDeviceState seen;
  if (!hv_storage_state_adopt(paths, NULL, key->pk, &seen, error))
    return FALSE;
  if (seen.next_seq > (guint64) open_seq + 1) {
    g_set_error(error, HV_STORAGE_ERROR, HV_STORAGE_ERROR_STATE_DAMAGED,
                "sequence %" G_GINT64_FORMAT " cannot have been left open: this device went on to sequence %"
                G_GUINT64_FORMAT " (its seal was removed, so it is damaged, not interrupted)", open_seq,
                seen.next_seq - 1);
    return FALSE;
  }
  HvDeviceState st = { .next_seq = (guint64) open_seq + 1, .open_seq = (guint64) open_seq };
  memcpy(st.device_pk, key->pk, HV_DEVICE_PK_SIZE);
  *ret = st;
  return TRUE;
}

static int
adopt(char *const *paths, const HvDeviceKey *key, const char *state_dir)
{
  g_autoptr(GError) err = NULL;
  HvDeviceState st;
  if (!hv_storage_state_adopt(paths, state_dir, key->pk, &st, &err)) {
    hv_cli_error("recover", "%s", err->message);
    return HV_EXIT_USAGE;
  }
  printf("ADOPTED     device state in %s from the signed sessions: next sequence %" G_GUINT64_FORMAT
         ", newest seal sequence %" G_GUINT64_FORMAT ", no session open\n", state_dir, st.next_seq,
         st.sealed_seq);
  return HV_EXIT_OK;
}

int
hv_cmd_recover(int argc, char **argv)
{
  g_autofree char *key_path = NULL, *state_dir = NULL;
  gint64 open_seq = 0;
  gboolean adopt_ledger = FALSE;
  GOptionEntry entries[] = {
    { "device-key", 0, 0, G_OPTION_ARG_FILENAME, &key_path,
      "The device's secret signing key (as havend uses it)", "FILE" },
    { "state-dir", 0, 0, G_OPTION_ARG_FILENAME, &state_dir,
      "The device's state directory (havend stopped): it says which session was left open", "DIR" },
    { "open-seq", 0, 0, G_OPTION_ARG_INT64, &open_seq,
      "Without a device state: the technician states that sequence N was left open", "N" },
    { "adopt-ledger", 0, 0, G_OPTION_ARG_NONE, &adopt_ledger,
      "Rebuild a lost or damaged device state in --state-dir from the signed sessions under PATH", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new("PATH... - seal the open session INTERRUPTED");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_option_context_set_description(ctx,
    "Seals only the session the device left open: the one the device state (--state-dir)\n"
    "names, or, on a copy without the device state, the sequence given with --open-seq.\n"
    "It keeps the records that a signed checkpoint vouches for, drops the torn tail and\n"
    "writes an INTERRUPTED seal signed by the device key; the seal is derived from the\n"
    "files alone, so identical copies give identical fingerprints. A session whose seal\n"
    "was removed is never re-sealed, and a session that cannot be checked (no index,\n"
    "a damaged seal, records that disagree with a signed checkpoint) is left untouched:\n"
    "both are reported and the exit status is 1. havend does this itself at every start.\n"
    "--adopt-ledger is the technician's answer to a lost device state: havend refuses to\n"
    "record until the archive has been checked and the state rebuilt from it.");
  if (!hv_cli_parse(ctx, &argc, &argv))
    return HV_EXIT_USAGE;
  if (!key_path || argc < 2) {
    hv_cli_error("recover", "--device-key FILE and at least one PATH are required");
    return HV_EXIT_USAGE;
  }
  if (adopt_ledger ? (!state_dir || open_seq) : (!state_dir == !open_seq)) {
    hv_cli_error("recover", adopt_ledger ? "--adopt-ledger needs --state-dir DIR (and no --open-seq)"
                 : "give exactly one of --state-dir DIR (the device's state: which session was left open) "
                   "or --open-seq N (no device state: you state which sequence was left open); without "
                   "either, a session whose seal was removed cannot be told apart from a crashed one");
    return HV_EXIT_USAGE;
  }
  if (open_seq < 0) {
    hv_cli_error("recover", "--open-seq must be at least 1");
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
  if (adopt_ledger)
    return adopt(paths, key, state_dir);

  HvDeviceState st;
  if (!recovery_state(paths, key, state_dir, open_seq, &st, &err)) {
    hv_cli_error("recover", "%s; nothing was changed%s", err->message,
                 state_dir && (g_error_matches(err, HV_STORAGE_ERROR, HV_STORAGE_ERROR_STATE_MISSING) ||
                               g_error_matches(err, HV_STORAGE_ERROR, HV_STORAGE_ERROR_STATE_DAMAGED))
                   ? " (check the archive, then --adopt-ledger)" : "");
    return HV_EXIT_USAGE;
  }
  Out o = { .reported = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL) };
  hv_storage_recover_open(paths, key, state_dir, &st, on_recovered, &o);
  print_left_alone(paths, &o);
  g_hash_table_unref(o.reported);
  return o.failed ? HV_EXIT_INTEGRITY : HV_EXIT_OK;
}
