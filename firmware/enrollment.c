// SPDX-License-Identifier: GPL-2.0-or-later
#define G_LOG_DOMAIN "haven"
#include "enrollment.h"

#include <sodium.h>
#include <string.h>

G_DEFINE_QUARK(hv-enrollment-error-quark, hv_enrollment_error)

#define GROUP "enrollment"
#define SIG_KEY "signature="

struct _HvEnrollment {
  char   *device_id;
  guint8  pk[HV_DEVICE_PK_SIZE];
  char   *room;
  char   *image_version;
  char   *haven_version;
  char   *created;
  GBytes *bytes;
};

/* Every key of the signed part, in the order they are written. */
static const char *const KEYS[] = { "format", "device-id", "device-public-key", "room", "image-version",
                                    "haven-version", "created" };

void
hv_enrollment_free(HvEnrollment *e)
{
  if (!e)
    return;
  g_free(e->device_id);
  g_free(e->room);
  g_free(e->image_version);
  g_free(e->haven_version);
  g_free(e->created);
  g_clear_pointer(&e->bytes, g_bytes_unref);
  g_free(e);
}

char *
hv_enrollment_format(const HvDeviceKey *key, const char *room, const char *image_version,
                     const char *haven_version, GDateTime *created)
{
  g_autoptr(GKeyFile) kf = g_key_file_new();
  g_autofree char *id = hv_key_id(key->pk, HV_DEVICE_PK_SIZE);
  g_autofree char *hex = hv_hex(key->pk, HV_DEVICE_PK_SIZE);
  g_autofree char *when = g_date_time_format(created, "%Y-%m-%dT%H:%M:%SZ");
  g_key_file_set_integer(kf, GROUP, "format", HV_ENROLLMENT_FORMAT);
  g_key_file_set_string(kf, GROUP, "device-id", id);
  g_key_file_set_string(kf, GROUP, "device-public-key", hex);
  g_key_file_set_string(kf, GROUP, "room", room);
  g_key_file_set_string(kf, GROUP, "image-version", image_version);
  g_key_file_set_string(kf, GROUP, "haven-version", haven_version);
  g_key_file_set_string(kf, GROUP, "created", when);
  g_autofree char *data = g_key_file_to_data(kf, NULL, NULL);
  g_autoptr(GString) text = g_string_new(data);
  while (text->len && text->str[text->len - 1] == '\n')
    g_string_truncate(text, text->len - 1);
  g_string_append_c(text, '\n');
  guint8 sig[crypto_sign_BYTES];
  crypto_sign_detached(sig, NULL, (const guint8 *) text->str, text->len, key->sk);
  char b64[sodium_base64_ENCODED_LEN(crypto_sign_BYTES, sodium_base64_VARIANT_ORIGINAL)];
  sodium_bin2base64(b64, sizeof b64, sig, sizeof sig, sodium_base64_VARIANT_ORIGINAL);
  g_string_append_printf(text, SIG_KEY "%s\n", b64);
  return g_string_free(g_steal_pointer(&text), FALSE);
}

gboolean
hv_enrollment_write(const char *path, const HvDeviceKey *key, const char *room, const char *image_version,
                    const char *haven_version, GError **error)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc();
  g_autofree char *text = hv_enrollment_format(key, room, image_version, haven_version, now);
  g_autofree char *dir = g_path_get_dirname(path);
  g_autofree char *name = g_path_get_basename(path);
  g_autoptr(GError) local = NULL;
  if (!hv_file_write_atomic(dir, name, text, strlen(text), 0644, &local)) {
    g_set_error(error, HV_ENROLLMENT_ERROR, HV_ENROLLMENT_ERROR_IO, "enrollment file %s not written: %s", path,
                local->message);
    return FALSE;
  }
  return TRUE;
}

static gboolean
malformed(GError **error, const char *name, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

static gboolean
malformed(GError **error, const char *name, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  g_autofree char *msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  g_set_error(error, HV_ENROLLMENT_ERROR, HV_ENROLLMENT_ERROR_MALFORMED, "%s: not a valid enrollment file: %s",
              name, msg);
  return FALSE;
}

/* The signature line: the last line, "signature=BASE64\n"; sets *signed_len
 * to the bytes before it. */
static gboolean
split_signature(const char *name, const char *text, gsize len, gsize *signed_len, guint8 sig[crypto_sign_BYTES],
                GError **error)
{
  gsize end = len;
  if (end && text[end - 1] == '\n')
    end--;
  gsize start = end;
  while (start > 0 && text[start - 1] != '\n')
    start--;
  gsize klen = strlen(SIG_KEY);
  if (end - start < klen || memcmp(text + start, SIG_KEY, klen) != 0) {
    gboolean elsewhere = g_strstr_len(text, len, "\n" SIG_KEY) != NULL;
    return malformed(error, name, elsewhere ? "the signature= line must be the last line (something follows it)"
                                            : "no signature= line (the file is cut short, or not signed)");
  }
  if (start == 0)
    return malformed(error, name, "nothing before the signature= line");
  size_t bin_len = 0;
  const char *b64_end = NULL;
  const char *b64 = text + start + klen;
  if (sodium_base642bin(sig, crypto_sign_BYTES, b64, end - start - klen, NULL, &bin_len, &b64_end,
                        sodium_base64_VARIANT_ORIGINAL) != 0 || bin_len != crypto_sign_BYTES
      || b64_end != text + end)
    return malformed(error, name, "signature= is not the base64 of a %d-byte Ed25519 signature", crypto_sign_BYTES);
  *signed_len = start;
  return TRUE;
}

HvEnrollment *
hv_enrollment_parse(const char *name, const char *text, gsize len, GError **error)
{
  if (len > HV_ENROLLMENT_MAX) {
    malformed(error, name, "larger than %d bytes", HV_ENROLLMENT_MAX);
    return NULL;
  }
  if (memchr(text, '\0', len) || !g_utf8_validate(text, len, NULL)) {
    malformed(error, name, "not UTF-8 text");
    return NULL;
  }
  gsize signed_len = 0;
  guint8 sig[crypto_sign_BYTES];
  if (!split_signature(name, text, len, &signed_len, sig, error))
    return NULL;
  g_autoptr(GKeyFile) kf = g_key_file_new();
  g_autoptr(GError) local = NULL;
  if (!g_key_file_load_from_data(kf, text, signed_len, G_KEY_FILE_NONE, &local)) {
    malformed(error, name, "%s", local->message);
    return NULL;
  }
  g_auto(GStrv) groups = g_key_file_get_groups(kf, NULL);
  if (g_strv_length(groups) != 1 || !g_str_equal(groups[0], GROUP)) {
    malformed(error, name, "it must hold the one group [" GROUP "]");
    return NULL;
  }
  g_auto(GStrv) keys = g_key_file_get_keys(kf, GROUP, NULL, NULL);
  for (guint i = 0; keys && keys[i]; i++) {
    if (!g_strv_contains(KEYS, keys[i])) {
      malformed(error, name, "unknown key '%s' in [" GROUP "]", keys[i]);
      return NULL;
    }
  }
  for (guint i = 0; i < G_N_ELEMENTS(KEYS); i++) {
    if (!g_key_file_has_key(kf, GROUP, KEYS[i], NULL)) {
      malformed(error, name, "[" GROUP "] %s is missing", KEYS[i]);
      return NULL;
    }
  }
  g_autoptr(HvEnrollment) e = g_new0(HvEnrollment, 1);
  g_autofree char *format = g_key_file_get_string(kf, GROUP, "format", NULL);
  g_autofree char *hex = g_key_file_get_string(kf, GROUP, "device-public-key", NULL);
  e->device_id = g_key_file_get_string(kf, GROUP, "device-id", NULL);
  e->room = g_key_file_get_string(kf, GROUP, "room", NULL);
  e->image_version = g_key_file_get_string(kf, GROUP, "image-version", NULL);
  e->haven_version = g_key_file_get_string(kf, GROUP, "haven-version", NULL);
  e->created = g_key_file_get_string(kf, GROUP, "created", NULL);
  if (!format || !hex || !e->device_id || !e->room || !e->image_version || !e->haven_version || !e->created) {
    malformed(error, name, "a value in [" GROUP "] is not a valid string (bad escape?)");
    return NULL;
  }
  gboolean ok = TRUE;
  if (!g_str_equal(format, "1"))
    ok = malformed(error, name, "format=%s: only format 1 is known (a newer haven wrote it?)", format);
  size_t pk_len = 0;
  const char *hex_end = NULL;
  if (ok && (strlen(hex) != 2 * HV_DEVICE_PK_SIZE
             || sodium_hex2bin(e->pk, sizeof e->pk, hex, strlen(hex), NULL, &pk_len, &hex_end) != 0
             || pk_len != HV_DEVICE_PK_SIZE))
    ok = malformed(error, name, "device-public-key is not %d hex digits", 2 * HV_DEVICE_PK_SIZE);
  g_autoptr(GDateTime) created = ok ? g_date_time_new_from_iso8601(e->created, NULL) : NULL;
  if (ok && !created)
    ok = malformed(error, name, "created=%s is not an RFC 3339 time", e->created);
  if (ok && crypto_sign_verify_detached(sig, (const guint8 *) text, signed_len, e->pk) != 0) {
    g_set_error(error, HV_ENROLLMENT_ERROR, HV_ENROLLMENT_ERROR_SIGNATURE,
                "%s: the signature does not verify: the file was changed after the device signed it, or it was "
                "not signed by the key it names; do not enroll it", name);
    ok = FALSE;
  }
  g_autofree char *id = ok ? hv_key_id(e->pk, HV_DEVICE_PK_SIZE) : NULL;
  if (ok && !g_str_equal(id, e->device_id)) {
    g_set_error(error, HV_ENROLLMENT_ERROR, HV_ENROLLMENT_ERROR_MISMATCH,
                "%s: device-id=%s is not the id of device-public-key (%s): do not enroll it", name, e->device_id,
                id);
    ok = FALSE;
  }
  if (!ok)
    return NULL;
  e->bytes = g_bytes_new(text, len);
  return g_steal_pointer(&e);
}

HvEnrollment *
hv_enrollment_load(const char *path, GError **error)
{
  g_autoptr(GError) local = NULL;
  g_autoptr(GBytes) bytes = hv_file_read_bounded(path, HV_ENROLLMENT_MAX, &local);
  if (!bytes) {
    g_set_error(error, HV_ENROLLMENT_ERROR, HV_ENROLLMENT_ERROR_IO, "%s", local->message);
    return NULL;
  }
  gsize n;
  const char *data = g_bytes_get_data(bytes, &n);
  return hv_enrollment_parse(path, data, n, error);
}

const char *hv_enrollment_device_id(const HvEnrollment *e) { return e->device_id; }
const guint8 *hv_enrollment_public_key(const HvEnrollment *e) { return e->pk; }
const char *hv_enrollment_room(const HvEnrollment *e) { return e->room; }
const char *hv_enrollment_image_version(const HvEnrollment *e) { return e->image_version; }
const char *hv_enrollment_haven_version(const HvEnrollment *e) { return e->haven_version; }
const char *hv_enrollment_created(const HvEnrollment *e) { return e->created; }
GBytes *hv_enrollment_bytes(const HvEnrollment *e) { return e->bytes; }
