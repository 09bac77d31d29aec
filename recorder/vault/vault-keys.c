// SPDX-License-Identifier: GPL-2.0-or-later
#define G_LOG_DOMAIN "haven-vault"
#include "vault-keys.h"
#include "vault-file.h"

#include <glib/gstdio.h>
#include <string.h>

#define LABEL_DEVICE_SECRET "haven-device-secret-v1"
#define LABEL_DEVICE_PUBLIC "haven-device-public-v1"
#define LABEL_RECIPIENT     "haven-recipient-v1"
#define LABEL_IDENTITY      "haven-identity-v1"
#define LABEL_SIGNING       "haven-signing-v1"
#define LABEL_SIGNER        "haven-signer-v1"
#define KEYFILE_MAX 512

void
hv_device_key_free(HvDeviceKey *key)
{
  if (!key)
    return;
  sodium_free(key->sk);
  g_free(key);
}

void
hv_identity_free(HvIdentity *id)
{
  if (!id)
    return;
  sodium_free(id->sk);
  sodium_free(id->sign_sk);
  g_free(id);
}

static char *
encode_line(const char *label, const guint8 *bin, gsize len)
{
  gsize b64len = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
  char *b64 = sodium_malloc(b64len);
  sodium_bin2base64(b64, b64len, bin, len, sodium_base64_VARIANT_ORIGINAL);
  char *line = g_strdup_printf("%s %s\n", label, b64);
  sodium_free(b64);
  return line;
}

static void
free_secret_line(char *line)
{
  if (line) {
    sodium_memzero(line, strlen(line));
    g_free(line);
  }
}

/* Which haven key file data is, by its label; NULL if none. */
static const char *
key_file_kind(const char *data, gsize n)
{
  static const char *const labels[] = { LABEL_DEVICE_SECRET, LABEL_DEVICE_PUBLIC, LABEL_RECIPIENT, LABEL_IDENTITY,
                                        LABEL_SIGNER };
  for (gsize i = 0; i < G_N_ELEMENTS(labels); i++) {
    gsize l = strlen(labels[i]);
    if (n > l && memcmp(data, labels[i], l) == 0 && data[l] == ' ')
      return labels[i];
  }
  return NULL;
}

/* What to do when the file given is a key of another kind. */
static const char *
key_file_hint(const char *wanted, const char *found)
{
  if (g_str_equal(found, LABEL_IDENTITY) && g_str_equal(wanted, LABEL_RECIPIENT))
    return "a custodian's SECRET identity, which must never leave the custodian: give the recipient file "
           "from 'haven keygen', PREFIX.pub, and have the custodian replace this key if it was copied";
  if (g_str_equal(found, LABEL_RECIPIENT) && g_str_equal(wanted, LABEL_IDENTITY))
    return "a custodian's public recipient; decrypting and signing need the identity file from 'haven keygen', "
           "PREFIX.key";
  if (g_str_equal(found, LABEL_IDENTITY) && g_str_equal(wanted, LABEL_SIGNER))
    return "a custodian's SECRET identity: checking a custodian's signatures needs only its public half, "
           "PREFIX.sign.pub from 'haven keygen'";
  if (g_str_equal(found, LABEL_RECIPIENT) && g_str_equal(wanted, LABEL_SIGNER))
    return "a custodian's public recipient, for encrypting; checking a custodian's signatures needs the "
           "signing public key from 'haven keygen', PREFIX.sign.pub";
  if (g_str_equal(found, LABEL_DEVICE_SECRET))
    return "the device's SECRET signing key, which must stay on the board: use its device.key.pub";
  if (g_str_equal(found, LABEL_DEVICE_PUBLIC))
    return "a device's public key, for 'haven verify --device-key'";
  if (g_str_equal(found, LABEL_SIGNER))
    return "a custodian's signing public key (PREFIX.sign.pub), for 'haven custody verify --signer'";
  return "a custodian key, not a device key: the board's device.key.pub pins the device";
}

/* Parse the text "LABEL BASE64[\r]\n" (n bytes at data) into out (exactly
 * len bytes). out may be secure memory. */
static gboolean
decode_key_text(const char *path, const char *data, gsize n, const char *label, guint8 *out, gsize len,
                GError **error)
{
  gsize llen = strlen(label);
  if (n < llen + 1 || memcmp(data, label, llen) != 0 || data[llen] != ' ') {
    const char *found = key_file_kind(data, n);
    if (found)
      g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_KEY, "%s: not a %s file: it is a %s file (%s)", path, label,
                  found, key_file_hint(label, found));
    else
      g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_KEY, "%s: not a %s file", path, label);
    return FALSE;
  }
  const char *b64 = data + llen + 1;
  gsize b64len = n - llen - 1;
  while (b64len && (b64[b64len - 1] == '\n' || b64[b64len - 1] == '\r'))
    b64len--;
  size_t bin_len = 0;
  const char *end = NULL;
  int r = sodium_base642bin(out, len, b64, b64len, NULL, &bin_len, &end,
                            sodium_base64_VARIANT_ORIGINAL);
  if (r != 0 || bin_len != len || end != b64 + b64len) {
    g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_KEY,
                "%s: key is damaged (expected %zu bytes of base64 after '%s')", path, len, label);
    return FALSE;
  }
  return TRUE;
}

/* Parse a one-line key file "LABEL BASE64\n" into out (exactly len bytes). */
static gboolean
read_key_file(const char *path, const char *label, guint8 *out, gsize len, GError **error)
{
  g_autoptr(GBytes) bytes = hv_file_read_bounded(path, KEYFILE_MAX, error);
  if (!bytes)
    return FALSE;
  gsize n;
  const char *data = g_bytes_get_data(bytes, &n);
  gboolean ok = decode_key_text(path, data, n, label, out, len, error);
  /* wipe our copy of a secret's text */
  sodium_memzero((void *) data, n);
  return ok;
}

HvDeviceKey *
hv_device_key_generate(const char *path, GError **error)
{
  g_autoptr(HvDeviceKey) key = g_new0(HvDeviceKey, 1);
  key->sk = sodium_malloc(HV_DEVICE_SK_SIZE);
  crypto_sign_keypair(key->pk, key->sk);

  g_autofree char *pub_path = g_strdup_printf("%s.pub", path);
  if (g_file_test(pub_path, G_FILE_TEST_EXISTS)) {
    g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_EXISTS, "%s: already exists, refusing to overwrite",
                pub_path);
    return NULL;
  }
  char *secret = encode_line(LABEL_DEVICE_SECRET, key->sk, HV_DEVICE_SK_SIZE);
  gboolean ok = hv_file_create_exclusive(path, secret, strlen(secret), 0600, error);
  free_secret_line(secret);
  if (!ok)
    return NULL;
  g_autofree char *pub = encode_line(LABEL_DEVICE_PUBLIC, key->pk, HV_DEVICE_PK_SIZE);
  if (!hv_file_create_exclusive(pub_path, pub, strlen(pub), 0644, error))
    return NULL;
  return g_steal_pointer(&key);
}

HvDeviceKey *
hv_device_key_load(const char *path, GError **error)
{
  g_autoptr(HvDeviceKey) key = g_new0(HvDeviceKey, 1);
  key->sk = sodium_malloc(HV_DEVICE_SK_SIZE);
  if (!read_key_file(path, LABEL_DEVICE_SECRET, key->sk, HV_DEVICE_SK_SIZE, error))
    return NULL;
  crypto_sign_ed25519_sk_to_pk(key->pk, key->sk);
  /* An Ed25519 secret key file holds the seed and a copy of the public key;
   * a damaged byte in either would sign sessions that never verify. Derive
   * the public key from the seed again and require the copy to match. */
  guint8 *seed = sodium_malloc(crypto_sign_SEEDBYTES);
  guint8 *sk = sodium_malloc(HV_DEVICE_SK_SIZE);
  guint8 pk[HV_DEVICE_PK_SIZE];
  crypto_sign_ed25519_sk_to_seed(seed, key->sk);
  crypto_sign_seed_keypair(pk, sk, seed);
  gboolean match = sodium_memcmp(pk, key->pk, HV_DEVICE_PK_SIZE) == 0;
  sodium_free(seed);
  sodium_free(sk);
  if (!match) {
    g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_KEY, "%s: damaged: its public half does not belong to "
                "its seed (it would sign sessions that never verify)", path);
    return NULL;
  }
  return g_steal_pointer(&key);
}

gboolean
hv_device_pubkey_load(const char *path, guint8 ret_pk[HV_DEVICE_PK_SIZE], GError **error)
{
  g_autoptr(GError) local = NULL;
  if (read_key_file(path, LABEL_DEVICE_PUBLIC, ret_pk, HV_DEVICE_PK_SIZE, &local))
    return TRUE;
  g_autoptr(HvDeviceKey) key = hv_device_key_load(path, NULL);
  if (key) {
    memcpy(ret_pk, key->pk, HV_DEVICE_PK_SIZE);
    return TRUE;
  }
  g_propagate_error(error, g_steal_pointer(&local));
  return FALSE;
}

char *
hv_device_pubkey_text(const guint8 pk[HV_DEVICE_PK_SIZE])
{
  return encode_line(LABEL_DEVICE_PUBLIC, pk, HV_DEVICE_PK_SIZE);
}

gboolean
hv_custodian_keygen(const char *prefix, char **ret_pub_path, char **ret_key_path, GError **error)
{
  g_autofree char *pub_path = g_strdup_printf("%s.pub", prefix);
  g_autofree char *key_path = g_strdup_printf("%s.key", prefix);
  guint8 pk[HV_RECIPIENT_PK_SIZE];
  guint8 *sk = sodium_malloc(HV_RECIPIENT_SK_SIZE);

  if (g_file_test(pub_path, G_FILE_TEST_EXISTS) || g_file_test(key_path, G_FILE_TEST_EXISTS)) {
    g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_EXISTS,
                "%s: already exists, refusing to overwrite",
                g_file_test(key_path, G_FILE_TEST_EXISTS) ? key_path : pub_path);
    sodium_free(sk);
    return FALSE;
  }
  g_autofree char *signer_path = hv_identity_signer_path(key_path);
  if (g_file_test(signer_path, G_FILE_TEST_EXISTS)) {
    g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_EXISTS, "%s: already exists, refusing to overwrite",
                signer_path);
    sodium_free(sk);
    return FALSE;
  }
  crypto_box_keypair(pk, sk);
  guint8 *seed = sodium_malloc(crypto_sign_SEEDBYTES);
  guint8 *sign_sk = sodium_malloc(HV_SIGNER_SK_SIZE);
  guint8 sign_pk[HV_SIGNER_PK_SIZE];
  randombytes_buf(seed, crypto_sign_SEEDBYTES);
  crypto_sign_seed_keypair(sign_pk, sign_sk, seed);
  sodium_free(sign_sk);
  char *line1 = encode_line(LABEL_IDENTITY, sk, HV_RECIPIENT_SK_SIZE);
  char *line2 = encode_line(LABEL_SIGNING, seed, crypto_sign_SEEDBYTES);
  sodium_free(sk);
  sodium_free(seed);
  char *secret = g_strconcat(line1, line2, NULL);
  free_secret_line(line1);
  free_secret_line(line2);
  gboolean ok = hv_file_create_exclusive(key_path, secret, strlen(secret), 0600, error);
  free_secret_line(secret);
  if (!ok)
    return FALSE;
  g_autofree char *pub = encode_line(LABEL_RECIPIENT, pk, HV_RECIPIENT_PK_SIZE);
  if (!hv_file_create_exclusive(pub_path, pub, strlen(pub), 0644, error))
    return FALSE;
  g_autofree char *signer = encode_line(LABEL_SIGNER, sign_pk, HV_SIGNER_PK_SIZE);
  if (!hv_file_create_exclusive(signer_path, signer, strlen(signer), 0644, error))
    return FALSE;
  if (ret_pub_path)
    *ret_pub_path = g_steal_pointer(&pub_path);
  if (ret_key_path)
    *ret_key_path = g_steal_pointer(&key_path);
  return TRUE;
}

gboolean
hv_recipient_load(const char *path, guint8 ret_pk[HV_RECIPIENT_PK_SIZE], GError **error)
{
  return read_key_file(path, LABEL_RECIPIENT, ret_pk, HV_RECIPIENT_PK_SIZE, error);
}

/* An identity file: the "haven-identity-v1" line, then optionally one
 * "haven-signing-v1" line (the Ed25519 seed), nothing else. */
static HvIdentity *
identity_parse(const char *path, const char *data, gsize n, GError **error)
{
  g_autoptr(HvIdentity) id = g_new0(HvIdentity, 1);
  id->sk = sodium_malloc(HV_RECIPIENT_SK_SIZE);
  const char *nl = memchr(data, '\n', n);
  gsize first = nl ? (gsize) (nl - data) + 1 : n;
  if (!decode_key_text(path, data, first, LABEL_IDENTITY, id->sk, HV_RECIPIENT_SK_SIZE, error))
    return NULL;
  crypto_scalarmult_base(id->pk, id->sk);
  if (first == n)
    return g_steal_pointer(&id);
  guint8 *seed = sodium_malloc(crypto_sign_SEEDBYTES);
  g_autoptr(GError) local = NULL;
  if (!decode_key_text(path, data + first, n - first, LABEL_SIGNING, seed, crypto_sign_SEEDBYTES, &local)) {
    sodium_free(seed);
    g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_KEY, "%s: the line after the identity is not a "
                "'%s' signing key (damaged, or not a haven identity file)", path, LABEL_SIGNING);
    return NULL;
  }
  id->sign_sk = sodium_malloc(HV_SIGNER_SK_SIZE);
  crypto_sign_seed_keypair(id->sign_pk, id->sign_sk, seed);
  sodium_free(seed);
  return g_steal_pointer(&id);
}

HvIdentity *
hv_identity_load(const char *path, GError **error)
{
  g_autoptr(GBytes) bytes = hv_file_read_bounded(path, KEYFILE_MAX, error);
  if (!bytes)
    return NULL;
  gsize n;
  const char *data = g_bytes_get_data(bytes, &n);
  HvIdentity *id = identity_parse(path, data, n, error);
  sodium_memzero((void *) data, n);
  return id;
}

char *
hv_identity_signer_path(const char *identity_path)
{
  if (g_str_has_suffix(identity_path, ".key"))
    return g_strdup_printf("%.*s.sign.pub", (int) (strlen(identity_path) - 4), identity_path);
  return g_strdup_printf("%s.sign.pub", identity_path);
}

gboolean
hv_identity_upgrade(const char *path, char **ret_signer_path, GError **error)
{
  g_autoptr(HvIdentity) id = hv_identity_load(path, error);
  if (!id)
    return FALSE;
  if (id->sign_sk) {
    g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_EXISTS, "%s: already has a signing key; nothing "
                "changed", path);
    return FALSE;
  }
  g_autofree char *signer_path = hv_identity_signer_path(path);
  if (g_file_test(signer_path, G_FILE_TEST_EXISTS) || g_file_test(signer_path, G_FILE_TEST_IS_SYMLINK)) {
    g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_EXISTS, "%s: already exists, refusing to overwrite "
                "(nothing changed)", signer_path);
    return FALSE;
  }
  guint8 *seed = sodium_malloc(crypto_sign_SEEDBYTES);
  id->sign_sk = sodium_malloc(HV_SIGNER_SK_SIZE);
  randombytes_buf(seed, crypto_sign_SEEDBYTES);
  crypto_sign_seed_keypair(id->sign_pk, id->sign_sk, seed);
  /* the decryption key is written back from the loaded bytes: unchanged */
  char *line1 = encode_line(LABEL_IDENTITY, id->sk, HV_RECIPIENT_SK_SIZE);
  char *line2 = encode_line(LABEL_SIGNING, seed, crypto_sign_SEEDBYTES);
  sodium_free(seed);
  char *secret = g_strconcat(line1, line2, NULL);
  free_secret_line(line1);
  free_secret_line(line2);
  /* the public half first: if the identity cannot be rewritten, it goes again
   * and nothing has changed */
  g_autofree char *signer = encode_line(LABEL_SIGNER, id->sign_pk, HV_SIGNER_PK_SIZE);
  if (!hv_file_create_exclusive(signer_path, signer, strlen(signer), 0644, error)) {
    free_secret_line(secret);
    return FALSE;
  }
  g_autofree char *dir = g_path_get_dirname(path);
  g_autofree char *name = g_path_get_basename(path);
  gboolean ok = hv_file_write_atomic(dir, name, secret, strlen(secret), 0600, error);
  free_secret_line(secret);
  if (!ok) {
    (void) g_unlink(signer_path);
    return FALSE;
  }
  if (ret_signer_path)
    *ret_signer_path = g_steal_pointer(&signer_path);
  return TRUE;
}

gboolean
hv_signer_load(const char *path, guint8 ret_pk[HV_SIGNER_PK_SIZE], GError **error)
{
  g_autoptr(GBytes) bytes = hv_file_read_bounded(path, KEYFILE_MAX, error);
  if (!bytes)
    return FALSE;
  gsize n;
  const char *data = g_bytes_get_data(bytes, &n);
  const char *kind = key_file_kind(data, n);
  if (kind && g_str_equal(kind, LABEL_IDENTITY)) {
    g_autoptr(HvIdentity) id = identity_parse(path, data, n, error);
    sodium_memzero((void *) data, n);
    if (!id)
      return FALSE;
    if (!id->sign_sk) {
      g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_KEY, "%s: an identity without a signing key "
                  "(made before signing keys existed: 'haven keygen --upgrade %s' adds one)", path, path);
      return FALSE;
    }
    memcpy(ret_pk, id->sign_pk, HV_SIGNER_PK_SIZE);
    return TRUE;
  }
  return decode_key_text(path, data, n, LABEL_SIGNER, ret_pk, HV_SIGNER_PK_SIZE, error);
}

char *
hv_key_id(const guint8 *pk, gsize len)
{
  guint8 h[8];
  crypto_generichash(h, sizeof h, pk, len, NULL, 0);
  return hv_hex(h, sizeof h);
}
