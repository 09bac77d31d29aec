// SPDX-License-Identifier: GPL-2.0-or-later
/* report-sign: detached Ed25519 signatures of export reports. */
#include "report-sign.h"
#include "sha256.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#define REPORT_DOMAIN "HAVEN-REPORT-v1"  /* signed with its NUL */
#define SIG_MAGIC     "haven-report-signature-v1"
#define SIGFILE_MAX   1024

G_DEFINE_QUARK(hv-report-sign-error-quark, hv_report_sign_error)

static char *
b64(const guint8 *bin, gsize len)
{
  gsize n = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
  char *s = g_malloc(n);
  sodium_bin2base64(s, n, bin, len, sodium_base64_VARIANT_ORIGINAL);
  return s;
}

static GByteArray *
signed_message(const char *text, gsize len)
{
  GByteArray *m = g_byte_array_new();
  g_byte_array_append(m, (const guint8 *) REPORT_DOMAIN, sizeof REPORT_DOMAIN);
  g_byte_array_append(m, (const guint8 *) text, len);
  return m;
}

gboolean
hv_report_sign(const char *path, const HvIdentity *id, GError **error)
{
  g_return_val_if_fail(id->sign_sk != NULL, FALSE);
  g_autofree char *sum = hv_sha256_file(path, error);
  if (!sum)
    return FALSE;
  g_autofree char *name = g_path_get_basename(path);
  g_autofree char *signer = b64(id->sign_pk, HV_SIGNER_PK_SIZE);
  g_autofree char *sid = hv_key_id(id->sign_pk, HV_SIGNER_PK_SIZE);
  g_autofree char *text = g_strdup_printf(SIG_MAGIC "\nfile: %s\nsha256: %s\nsigner: %s\nsigner-id: %s\n",
                                          name, sum, signer, sid);
  g_autoptr(GByteArray) msg = signed_message(text, strlen(text));
  guint8 sig[HV_SIG_SIZE];
  crypto_sign_detached(sig, NULL, msg->data, msg->len, id->sign_sk);
  g_autofree char *sig_b64 = b64(sig, sizeof sig);
  g_autofree char *all = g_strdup_printf("%ssignature: %s\n", text, sig_b64);
  g_autofree char *sig_path = g_strdup_printf("%s.sig", path);
  g_autoptr(GError) local = NULL;
  if (!hv_file_create_exclusive(sig_path, all, strlen(all), 0644, &local)) {
    g_set_error(error, HV_REPORT_SIGN_ERROR, HV_REPORT_SIGN_ERROR_IO, "%s", local->message);
    return FALSE;
  }
  return TRUE;
}

/* The value of line "KEY: value" (without its '\n'), or NULL. */
static const char *
field(char **lines, guint i, const char *key)
{
  gsize k = strlen(key);
  if (!lines[i] || strncmp(lines[i], key, k) != 0 || lines[i][k] != ':' || lines[i][k + 1] != ' ')
    return NULL;
  return lines[i] + k + 2;
}

gboolean
hv_report_verify(const char *path, GPtrArray *signers, char **ret_signer_id, GError **error)
{
  g_autofree char *sig_path = g_strdup_printf("%s.sig", path);
  g_autoptr(GError) local = NULL;
  g_autoptr(GBytes) bytes = hv_file_read_bounded(sig_path, SIGFILE_MAX, &local);
  if (!bytes) {
    g_set_error(error, HV_REPORT_SIGN_ERROR, HV_REPORT_SIGN_ERROR_IO, "%s (the detached signature of %s)",
                local->message, path);
    return FALSE;
  }
  gsize n;
  const char *data = g_bytes_get_data(bytes, &n);
  g_autofree char *text = g_strndup(data, n);
  g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
  const char *sum = NULL, *signer = NULL, *sid = NULL, *sig_b64 = NULL;
  gboolean ok = strlen(text) == n && g_strv_length(lines) == 7 && g_str_equal(lines[0], SIG_MAGIC) &&
                field(lines, 1, "file") && (sum = field(lines, 2, "sha256")) &&
                (signer = field(lines, 3, "signer")) && (sid = field(lines, 4, "signer-id")) &&
                (sig_b64 = field(lines, 5, "signature")) && lines[6][0] == '\0';
  guint8 pk[HV_SIGNER_PK_SIZE], sig[HV_SIG_SIZE];
  size_t bl = 0;
  ok = ok && sodium_base642bin(pk, sizeof pk, signer, strlen(signer), NULL, &bl, NULL,
                               sodium_base64_VARIANT_ORIGINAL) == 0 && bl == sizeof pk;
  ok = ok && sodium_base642bin(sig, sizeof sig, sig_b64, strlen(sig_b64), NULL, &bl, NULL,
                               sodium_base64_VARIANT_ORIGINAL) == 0 && bl == sizeof sig;
  if (!ok) {
    g_set_error(error, HV_REPORT_SIGN_ERROR, HV_REPORT_SIGN_ERROR_MALFORMED, "%s: not a %s file", sig_path,
                SIG_MAGIC);
    return FALSE;
  }
  gsize signed_len = (gsize) (strstr(text, "\nsignature: ") - text) + 1;
  g_autoptr(GByteArray) msg = signed_message(text, signed_len);
  if (crypto_sign_verify_detached(sig, msg->data, msg->len, pk) != 0) {
    g_set_error(error, HV_REPORT_SIGN_ERROR, HV_REPORT_SIGN_ERROR_SIGNATURE, "%s: the signature does not "
                "verify (the signature file was changed)", sig_path);
    return FALSE;
  }
  g_autofree char *real_sid = hv_key_id(pk, sizeof pk);
  if (!g_str_equal(real_sid, sid)) {
    g_set_error(error, HV_REPORT_SIGN_ERROR, HV_REPORT_SIGN_ERROR_MALFORMED, "%s: signer-id %s is not the "
                "id of its signer (%s)", sig_path, sid, real_sid);
    return FALSE;
  }
  g_autofree char *actual = hv_sha256_file(path, error);
  if (!actual)
    return FALSE;
  if (!g_str_equal(actual, sum)) {
    g_set_error(error, HV_REPORT_SIGN_ERROR, HV_REPORT_SIGN_ERROR_MISMATCH, "%s: SHA-256 is %s, not the "
                "signed %s: the report was changed after signing (or is another report)", path, actual, sum);
    return FALSE;
  }
  if (signers) {
    gboolean pinned = FALSE;
    for (guint i = 0; i < signers->len && !pinned; i++)
      pinned = g_bytes_get_size(signers->pdata[i]) == sizeof pk &&
               memcmp(g_bytes_get_data(signers->pdata[i], NULL), pk, sizeof pk) == 0;
    if (!pinned) {
      g_set_error(error, HV_REPORT_SIGN_ERROR, HV_REPORT_SIGN_ERROR_UNPINNED, "%s: signed by key %s, which "
                  "is none of the --signer keys", path, real_sid);
      return FALSE;
    }
  }
  if (ret_signer_id)
    *ret_signer_id = g_steal_pointer(&real_sid);
  return TRUE;
}
