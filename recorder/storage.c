// SPDX-License-Identifier: GPL-2.0-or-later
#define G_LOG_DOMAIN "haven-recorder"
#include "storage.h"
#include "vault-file.h"
#include "vault-recover.h"
#include "vault-verify.h"

#include <errno.h>
#include <string.h>
#include <sys/statvfs.h>

char *
hv_storage_session_name(guint64 seq, gint64 wall_us)
{
  g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(wall_us / G_USEC_PER_SEC);
  g_autofree char *stamp = g_date_time_format(dt, "%Y%m%dT%H%M%SZ");
  return g_strdup_printf("S%06" G_GUINT64_FORMAT "-%s", seq, stamp);
}

/* Header and seal of a session, cheaply (no chain walk). */
static gboolean
read_ends(const char *dir, HvHeader *ret_hdr, guint8 ret_seal_hash[HV_HASH_SIZE], gboolean *ret_sealed)
{
  g_autofree char *hp = g_build_filename(dir, HV_FILE_HEADER, NULL);
  g_autoptr(GBytes) hb = hv_file_read_bounded(hp, HV_HEADER_MAX_SIZE, NULL);
  if (!hb || !hv_header_decode(g_bytes_get_data(hb, NULL), g_bytes_get_size(hb), ret_hdr, NULL))
    return FALSE;
  g_autofree char *sp = g_build_filename(dir, HV_FILE_SEAL, NULL);
  g_autoptr(GBytes) sb = hv_file_read_bounded(sp, HV_SEAL_MAX_SIZE, NULL);
  *ret_sealed = sb != NULL;
  if (sb)
    hv_hash(g_bytes_get_data(sb, NULL), g_bytes_get_size(sb), ret_seal_hash);
  return TRUE;
}

static gboolean
load_state(const char *state_dir, HvLedgerPosition *pos)
{
  if (!state_dir)
    return FALSE;
  g_autofree char *p = g_build_filename(state_dir, "ledger", NULL);
  g_autoptr(GBytes) b = hv_file_read_bounded(p, 256, NULL);
  if (!b)
    return FALSE;
  g_autofree char *text = g_strndup(g_bytes_get_data(b, NULL), g_bytes_get_size(b));
  g_auto(GStrv) parts = g_strsplit(g_strstrip(text), " ", 2);
  size_t len = 0;
  if (g_strv_length(parts) != 2 || !g_ascii_string_to_unsigned(parts[0], 10, 1, G_MAXUINT64, &pos->seq, NULL) ||
      sodium_hex2bin(pos->seal_hash, HV_HASH_SIZE, parts[1], strlen(parts[1]), NULL, &len, NULL) != 0 ||
      len != HV_HASH_SIZE) {
    g_warning("%s: damaged, ignoring it (the archive itself is scanned)", p);
    return FALSE;
  }
  return TRUE;
}

gboolean
hv_storage_ledger_save(const char *state_dir, const HvLedgerPosition *pos, GError **error)
{
  if (!state_dir)
    return TRUE;
  g_autofree char *hex = hv_hex(pos->seal_hash, HV_HASH_SIZE);
  g_autofree char *text = g_strdup_printf("%" G_GUINT64_FORMAT " %s\n", pos->seq, hex);
  return hv_file_write_atomic(state_dir, "ledger", text, strlen(text), 0640, error);
}

gboolean
hv_storage_ledger_position(char *const *roots, const char *state_dir, const guint8 *device_pk,
                           HvLedgerPosition *ret_pos, GError **error)
{
  HvLedgerPosition best = { 0 };
  for (guint r = 0; roots[r]; r++) {
    g_autoptr(GPtrArray) dirs = hv_vault_find_sessions(roots[r], NULL);
    for (guint i = 0; dirs && i < dirs->len; i++) {
      HvHeader h;
      guint8 sh[HV_HASH_SIZE];
      gboolean sealed;
      if (!read_ends(dirs->pdata[i], &h, sh, &sealed) ||
          memcmp(h.device_pk, device_pk, HV_DEVICE_PK_SIZE) != 0)
        continue;
      if (!sealed) {
        g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_UNSEALED,
                    "%s is not sealed: recover it before recording", (char *) dirs->pdata[i]);
        return FALSE;
      }
      if (h.device_seq > best.seq) {
        best.seq = h.device_seq;
        memcpy(best.seal_hash, sh, HV_HASH_SIZE);
      }
    }
  }
  HvLedgerPosition state;
  if (load_state(state_dir, &state) && state.seq > best.seq) {
    g_message("sessions up to sequence %" G_GUINT64_FORMAT " are not in storage; continuing the ledger "
              "from the state file", state.seq);
    best = state;
  }
  *ret_pos = best;
  return TRUE;
}

guint
hv_storage_recover_all(char *const *roots, const HvDeviceKey *key, HvRecoveredFunc cb, gpointer user_data)
{
  guint n = 0;
  for (guint r = 0; roots[r]; r++) {
    g_autoptr(GPtrArray) dirs = hv_vault_find_sessions(roots[r], NULL);
    for (guint i = 0; dirs && i < dirs->len; i++) {
      HvHeader h;
      guint8 sh[HV_HASH_SIZE];
      gboolean sealed;
      const char *dir = dirs->pdata[i];
      if (!read_ends(dir, &h, sh, &sealed)) {
        g_autofree char *seal = g_build_filename(dir, HV_FILE_SEAL, NULL);
        if (cb && !g_file_test(seal, G_FILE_TEST_EXISTS))
          cb(dir, 0, NULL, 0, "no readable header: cannot be recovered, keep it for examination", user_data);
        continue;
      }
      if (sealed || memcmp(h.device_pk, key->pk, HV_DEVICE_PK_SIZE) != 0)
        continue;
      HvRecoverResult res;
      g_autoptr(GError) err = NULL;
      if (hv_vault_recover(dir, key, &res, &err)) {
        g_autofree char *fp = hv_fingerprint_from_seal_hash(res.seal_hash);
        n += res.recovered;
        if (cb)
          cb(dir, h.device_seq, fp, res.kept_records, NULL, user_data);
      } else if (cb) {
        cb(dir, h.device_seq, NULL, 0, err->message, user_data);
      }
    }
  }
  return n;
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
