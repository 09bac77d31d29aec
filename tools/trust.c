// SPDX-License-Identifier: GPL-2.0-or-later
#include "trust.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>

G_DEFINE_QUARK(hv-trust-error-quark, hv_trust_error)

#define PUB_SUFFIX ".pub"
#define ENROLLMENT_SUFFIX ".enrollment.conf"

void
hv_trusted_device_free(HvTrustedDevice *d)
{
  if (!d)
    return;
  g_free(d->device_id);
  g_free(d->room);
  g_free(d->image_version);
  g_free(d->created);
  g_free(d->pub_path);
  g_free(d);
}

char *
hv_trust_dir(void)
{
  const char *env = g_getenv("HAVEN_TRUST_DIR");
  if (env && *env)
    return g_strdup(env);
  return g_build_filename(g_get_user_config_dir(), "haven", "devices", NULL);
}

/* A device id as hv_key_id makes it: 16 lower-case hex digits. Anything else
 * (a path, a name from a damaged session) is never looked up. */
static gboolean
valid_id(const char *id)
{
  if (strlen(id) != 16)
    return FALSE;
  for (const char *p = id; *p; p++)
    if (!g_ascii_isdigit(*p) && !(*p >= 'a' && *p <= 'f'))
      return FALSE;
  return TRUE;
}

static HvTrustedDevice *
corrupt(GError **error, const char *dir, const char *id, const char *fmt, ...) G_GNUC_PRINTF(4, 5);

static HvTrustedDevice *
corrupt(GError **error, const char *dir, const char *id, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  g_autofree char *msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  g_set_error(error, HV_TRUST_ERROR, HV_TRUST_ERROR_CORRUPT,
              "trust list %s: the entry of device %s is damaged: %s; remove %s/%s%s and %s/%s%s and enroll the "
              "device again from its enrollment file", dir, id, msg, dir, id, PUB_SUFFIX, dir, id,
              ENROLLMENT_SUFFIX);
  return NULL;
}

HvTrustedDevice *
hv_trust_lookup(const char *dir, const char *device_id, GError **error)
{
  if (!valid_id(device_id))
    return NULL;
  g_autofree char *pub_name = g_strconcat(device_id, PUB_SUFFIX, NULL);
  g_autofree char *enr_name = g_strconcat(device_id, ENROLLMENT_SUFFIX, NULL);
  g_autofree char *pub = g_build_filename(dir, pub_name, NULL);
  g_autofree char *enr = g_build_filename(dir, enr_name, NULL);
  gboolean has_pub = g_file_test(pub, G_FILE_TEST_EXISTS) || g_file_test(pub, G_FILE_TEST_IS_SYMLINK);
  gboolean has_enr = g_file_test(enr, G_FILE_TEST_EXISTS) || g_file_test(enr, G_FILE_TEST_IS_SYMLINK);
  if (!has_pub && !has_enr)
    return NULL;
  if (!has_pub)
    return corrupt(error, dir, device_id, "%s is missing", pub_name);
  if (!has_enr)
    return corrupt(error, dir, device_id, "%s is missing", enr_name);
  g_autoptr(HvTrustedDevice) d = g_new0(HvTrustedDevice, 1);
  g_autoptr(GError) local = NULL;
  if (!hv_device_pubkey_load(pub, d->pk, &local))
    return corrupt(error, dir, device_id, "%s", local->message);
  g_autofree char *id = hv_key_id(d->pk, HV_DEVICE_PK_SIZE);
  if (!g_str_equal(id, device_id))
    return corrupt(error, dir, device_id, "%s holds the key of device %s", pub_name, id);
  g_autoptr(HvEnrollment) e = hv_enrollment_load(enr, &local);
  if (!e)
    return corrupt(error, dir, device_id, "%s", local->message);
  if (sodium_memcmp(hv_enrollment_public_key(e), d->pk, HV_DEVICE_PK_SIZE) != 0)
    return corrupt(error, dir, device_id, "%s is the enrollment of device %s, not of %s", enr_name,
                   hv_enrollment_device_id(e), device_id);
  d->device_id = g_strdup(device_id);
  d->room = g_strdup(hv_enrollment_room(e));
  d->image_version = g_strdup(hv_enrollment_image_version(e));
  d->created = g_strdup(hv_enrollment_created(e));
  d->pub_path = g_steal_pointer(&pub);
  return g_steal_pointer(&d);
}

HvTrustedDevice *
hv_trust_lookup_session(const char *dir, const char *session, GError **error)
{
  HvHeader h;
  if (!hv_vault_read_header(session, NULL, &h, NULL))
    return NULL;
  g_autofree char *id = hv_key_id(h.device_pk, HV_DEVICE_PK_SIZE);
  return hv_trust_lookup(dir, id, error);
}

gboolean
hv_trust_add(const char *dir, const HvEnrollment *e, HvTrustedDevice **ret_previous, GError **error)
{
  const char *id = hv_enrollment_device_id(e);
  if (g_mkdir_with_parents(dir, 0700) < 0) {
    int err = errno;
    g_set_error(error, HV_TRUST_ERROR, HV_TRUST_ERROR_IO, "trust list %s cannot be created: %s", dir,
                g_strerror(err));
    return FALSE;
  }
  g_autoptr(GError) local = NULL;
  g_autoptr(HvTrustedDevice) previous = hv_trust_lookup(dir, id, &local);
  if (local) {
    g_propagate_error(error, g_steal_pointer(&local));
    return FALSE;
  }
  /* the id is a 64-bit hash of the key: a different key under a trusted id is
   * never taken in place of the trusted one */
  if (previous && sodium_memcmp(previous->pk, hv_enrollment_public_key(e), HV_DEVICE_PK_SIZE) != 0) {
    g_set_error(error, HV_TRUST_ERROR, HV_TRUST_ERROR_CORRUPT,
                "device %s is already trusted with another public key (%s): an enrollment with the same id "
                "and a different key is refused; remove the entry by hand only if you know why", id,
                previous->pub_path);
    return FALSE;
  }
  g_autofree char *pub_name = g_strconcat(id, PUB_SUFFIX, NULL);
  g_autofree char *enr_name = g_strconcat(id, ENROLLMENT_SUFFIX, NULL);
  g_autofree char *pub = hv_device_pubkey_text(hv_enrollment_public_key(e));
  gsize n;
  const char *data = g_bytes_get_data(hv_enrollment_bytes(e), &n);
  /* the enrollment first: a .pub alone would read as a damaged entry */
  if (!hv_file_write_atomic(dir, enr_name, data, n, 0644, &local)
      || !hv_file_write_atomic(dir, pub_name, pub, strlen(pub), 0644, &local)) {
    g_set_error(error, HV_TRUST_ERROR, HV_TRUST_ERROR_IO, "trust list %s: %s", dir, local->message);
    return FALSE;
  }
  if (ret_previous)
    *ret_previous = g_steal_pointer(&previous);
  return TRUE;
}

static gint
by_id(gconstpointer a, gconstpointer b)
{
  const HvTrustedDevice *x = *(HvTrustedDevice *const *) a, *y = *(HvTrustedDevice *const *) b;
  return strcmp(x->device_id, y->device_id);
}

GPtrArray *
hv_trust_list(const char *dir, GPtrArray *problems, GError **error)
{
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func((GDestroyNotify) hv_trusted_device_free);
  if (!g_file_test(dir, G_FILE_TEST_EXISTS))
    return g_steal_pointer(&out);
  g_autoptr(GError) local = NULL;
  g_autoptr(GDir) d = g_dir_open(dir, 0, &local);
  if (!d) {
    g_set_error(error, HV_TRUST_ERROR, HV_TRUST_ERROR_IO, "trust list %s: %s", dir, local->message);
    return NULL;
  }
  g_autoptr(GHashTable) ids = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  const char *name;
  while ((name = g_dir_read_name(d))) {
    const char *suffix = g_str_has_suffix(name, ENROLLMENT_SUFFIX) ? ENROLLMENT_SUFFIX
                         : g_str_has_suffix(name, PUB_SUFFIX)      ? PUB_SUFFIX : NULL;
    g_autofree char *id = suffix ? g_strndup(name, strlen(name) - strlen(suffix)) : NULL;
    if (!id || !valid_id(id))
      continue; /* not a trust entry (ID.pub, ID.enrollment.conf): not ours to judge */
    g_hash_table_add(ids, g_steal_pointer(&id));
  }
  GHashTableIter it;
  gpointer key;
  g_hash_table_iter_init(&it, ids);
  while (g_hash_table_iter_next(&it, &key, NULL)) {
    HvTrustedDevice *t = hv_trust_lookup(dir, key, &local);
    if (t)
      g_ptr_array_add(out, t);
    else if (local) /* else: removed meanwhile */
      g_ptr_array_add(problems, g_strdup(local->message));
    g_clear_error(&local);
  }
  g_ptr_array_sort(out, by_id);
  return g_steal_pointer(&out);
}
