// SPDX-License-Identifier: GPL-2.0-or-later
#define G_LOG_DOMAIN "havend"
#include "provision.h"
#include "storage.h"
#include "vault/vault.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

G_DEFINE_QUARK(hv-provision-error-quark, hv_provision_error)

void
hv_provision_result_clear(HvProvisionResult *r)
{
  g_free(r->key_path);
  g_free(r->pub_path);
  g_free(r->key_id);
  g_free(r->public_hex);
  g_free(r->old_key_id);
  g_free(r->archived_key);
  g_free(r->archived_state);
  memset(r, 0, sizeof *r);
}

static gboolean
exists(const char *path)
{
  struct stat st;
  return lstat(path, &st) == 0;
}

/* Move from to to, never replacing anything at to. */
static gboolean
archive(const char *from, const char *to, GError **error)
{
  if (link(from, to) < 0 || unlink(from) < 0) {
    int e = errno;
    g_set_error(error, HV_PROVISION_ERROR, e == EEXIST ? HV_PROVISION_ERROR_EXISTS : HV_PROVISION_ERROR_IO,
                "cannot archive %s as %s: %s", from, to, g_strerror(e));
    return FALSE;
  }
  return TRUE;
}

/* Archive the old key, its .pub and its device state (ret->archived_*). */
static gboolean
archive_identity(const HvConfig *cfg, const char *pub_path, const char *state_path, HvProvisionResult *ret,
                 GError **error)
{
  guint8 old_pk[HV_DEVICE_PK_SIZE];
  if (hv_device_pubkey_load(cfg->device_key_path, old_pk, NULL) || hv_device_pubkey_load(pub_path, old_pk, NULL)) {
    ret->old_key_id = hv_key_id(old_pk, HV_DEVICE_PK_SIZE);
    HvDeviceState old_state;
    if (hv_storage_state_load(cfg->state_dir, old_pk, &old_state, NULL))
      ret->old_open_seq = old_state.open_seq;
  }
  g_autoptr(GDateTime) now = g_date_time_new_now_utc();
  g_autofree char *stamp = g_date_time_format(now, "%Y%m%dT%H%M%SZ");
  g_autofree char *key_to = g_strdup_printf("%s.replaced-%s", cfg->device_key_path, stamp);
  g_autofree char *pub_to = g_strdup_printf("%s.pub", key_to);
  g_autofree char *state_to = g_strdup_printf("%s.replaced-%s", state_path, stamp);
  if (exists(key_to) || exists(pub_to) || exists(state_to)) {
    g_set_error(error, HV_PROVISION_ERROR, HV_PROVISION_ERROR_EXISTS,
                "%s already exists (a replacement in this second): nothing was changed, try again", key_to);
    return FALSE;
  }
  if (exists(cfg->device_key_path)) {
    if (!archive(cfg->device_key_path, key_to, error))
      return FALSE;
    ret->archived_key = g_strdup(key_to);
  }
  if (exists(pub_path) && !archive(pub_path, pub_to, error))
    return FALSE;
  if (exists(state_path)) {
    if (!archive(state_path, state_to, error))
      return FALSE;
    ret->archived_state = g_steal_pointer(&state_to);
  }
  if (!ret->archived_key) /* only a .pub was there */
    ret->archived_key = g_strdup(pub_to);
  g_autofree char *kdir = g_path_get_dirname(cfg->device_key_path);
  if (!hv_dir_sync(kdir, error) || !hv_dir_sync(cfg->state_dir, error))
    return FALSE;
  return TRUE;
}

gboolean
hv_provision_init_device(const HvConfig *cfg, gboolean replace, HvProvisionResult *ret, GError **error)
{
  g_auto(HvProvisionResult) r = { 0 };
  g_autofree char *kdir = g_path_get_dirname(cfg->device_key_path);
  g_autofree char *pub_path = g_strdup_printf("%s.pub", cfg->device_key_path);
  g_autofree char *state_path = g_build_filename(cfg->state_dir, HV_DEVICE_STATE_FILE, NULL);
  /* a mistyped key path creates nothing; only the state directory, which
   * havend would create too, may be made here */
  g_autofree char *state_canon = g_canonicalize_filename(cfg->state_dir, NULL);
  g_autofree char *kdir_canon = g_canonicalize_filename(kdir, NULL);
  if (!g_str_equal(state_canon, kdir_canon) && !g_file_test(kdir, G_FILE_TEST_IS_DIR)) {
    g_set_error(error, HV_PROVISION_ERROR, HV_PROVISION_ERROR_NO_DIRECTORY,
                "%s: [device] key: the directory of '%s' does not exist: check the path (a typo?); nothing "
                "was created", cfg->path, cfg->device_key_path);
    return FALSE;
  }
  if (g_mkdir_with_parents(cfg->state_dir, 0750) < 0) {
    int e = errno;
    g_set_error(error, HV_PROVISION_ERROR, HV_PROVISION_ERROR_IO, "state directory %s cannot be created: %s",
                cfg->state_dir, g_strerror(e));
    return FALSE;
  }
  if (!g_file_test(kdir, G_FILE_TEST_IS_DIR)) {
    g_set_error(error, HV_PROVISION_ERROR, HV_PROVISION_ERROR_NO_DIRECTORY,
                "%s: [device] key: the directory of '%s' does not exist: check the path (a typo?); nothing "
                "was created", cfg->path, cfg->device_key_path);
    return FALSE;
  }
  /* one havend per state directory: never provision under a running one */
  int lock = hv_storage_lock_state_dir(cfg->state_dir, error);
  if (lock < 0)
    return FALSE;
  gboolean had_key = exists(cfg->device_key_path) || exists(pub_path);
  gboolean ok = TRUE;
  if (!replace && (had_key || exists(state_path))) {
    guint8 pk[HV_DEVICE_PK_SIZE];
    g_autofree char *id = hv_device_pubkey_load(had_key && exists(cfg->device_key_path) ? cfg->device_key_path
                                                                                        : pub_path, pk, NULL)
                              ? hv_key_id(pk, HV_DEVICE_PK_SIZE) : NULL;
    g_set_error(error, HV_PROVISION_ERROR, HV_PROVISION_ERROR_EXISTS,
                had_key ? "%s already exists%s%s%s: refusing to overwrite the device identity; replacing it is a "
                          "deliberate act: 'havend --init-device --replace' archives the old key and starts a new "
                          "ledger"
                        : "%s: a device state is there without a device key%s%s%s (the key was lost or [device] key "
                          "is wrong): nothing was created; restore the key, or replace the identity deliberately "
                          "with 'havend --init-device --replace'",
                had_key ? (exists(cfg->device_key_path) ? cfg->device_key_path : pub_path) : state_path,
                id ? " (device " : "", id ? id : "", id ? ")" : "");
    ok = FALSE;
  }
  if (ok && replace && (had_key || exists(state_path)))
    ok = archive_identity(cfg, pub_path, state_path, &r, error);
  g_autoptr(HvDeviceKey) key = NULL;
  if (ok)
    ok = (key = hv_device_key_generate(cfg->device_key_path, error)) != NULL;
  if (ok) {
    /* a new key: a fresh state, nothing in storage is signed by it */
    HvDeviceState st;
    ok = hv_storage_state_open(cfg->rec.roots, cfg->state_dir, key->pk, TRUE, &st, error);
    if (!ok)
      g_prefix_error(error, "device key %s created, but its device state was not: ", cfg->device_key_path);
  }
  close(lock);
  if (!ok)
    return FALSE;
  r.key_path = g_strdup(cfg->device_key_path);
  r.pub_path = g_steal_pointer(&pub_path);
  r.key_id = hv_key_id(key->pk, HV_DEVICE_PK_SIZE);
  r.public_hex = hv_hex(key->pk, HV_DEVICE_PK_SIZE);
  *ret = r;
  memset(&r, 0, sizeof r);
  return TRUE;
}
