/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vault-keys: key files. The device signing key (Ed25519) and custodian
 * recipient/identity keys (X25519) with the custodian's signing key (Ed25519).
 * One line of text each:
 *   "haven-device-secret-v1 <base64>"   64-byte Ed25519 secret key   (0600)
 *   "haven-device-public-v1 <base64>"   32-byte Ed25519 public key
 *   "haven-recipient-v1 <base64>"       32-byte X25519 public key
 *   "haven-identity-v1 <base64>"        32-byte X25519 secret key    (0600)
 *   "haven-signing-v1 <base64>"         32-byte Ed25519 seed: the optional
 *                                       second line of an identity file
 *   "haven-signer-v1 <base64>"          32-byte Ed25519 public key (PREFIX.sign.pub)
 * Secret keys live in sodium_malloc() memory and are wiped on free.
 */
#pragma once

#include "vault-format.h"

G_BEGIN_DECLS

typedef struct {
  guint8  pk[HV_DEVICE_PK_SIZE];
  guint8 *sk;  /* sodium_malloc, HV_DEVICE_SK_SIZE */
} HvDeviceKey;

#define HV_SIGNER_PK_SIZE crypto_sign_PUBLICKEYBYTES /* 32 */
#define HV_SIGNER_SK_SIZE crypto_sign_SECRETKEYBYTES /* 64 */

typedef struct {
  guint8  pk[HV_RECIPIENT_PK_SIZE];
  guint8 *sk;  /* sodium_malloc, HV_RECIPIENT_SK_SIZE */
  /* The custodian's signing key (custody events, report signatures); sign_sk
   * is NULL for an identity made before signing keys existed. */
  guint8  sign_pk[HV_SIGNER_PK_SIZE];
  guint8 *sign_sk;  /* sodium_malloc, HV_SIGNER_SK_SIZE, or NULL */
} HvIdentity;

void hv_device_key_free(HvDeviceKey *key);
void hv_identity_free(HvIdentity *id);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HvDeviceKey, hv_device_key_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HvIdentity, hv_identity_free)

/* Generate a device key at path (0600) and its public half at path.pub.
 * Refuses to overwrite either. Returns the new key. */
HvDeviceKey *hv_device_key_generate(const char *path, GError **error) G_GNUC_WARN_UNUSED_RESULT;
HvDeviceKey *hv_device_key_load(const char *path, GError **error) G_GNUC_WARN_UNUSED_RESULT;
/* Load a device public key: a .pub file, or a secret key file. */
gboolean hv_device_pubkey_load(const char *path, guint8 ret_pk[HV_DEVICE_PK_SIZE], GError **error)
    G_GNUC_WARN_UNUSED_RESULT;
/* The text of a device public key file, as hv_device_key_generate writes
 * PATH.pub ("haven-device-public-v1 BASE64\n"); owned by the caller. */
char *hv_device_pubkey_text(const guint8 pk[HV_DEVICE_PK_SIZE]) G_GNUC_WARN_UNUSED_RESULT;

/* Custodian key pair: PREFIX.pub (recipient), PREFIX.key (identity with its
 * signing key, 0600) and PREFIX.sign.pub (the signing public key). */
gboolean hv_custodian_keygen(const char *prefix, char **ret_pub_path, char **ret_key_path,
                             GError **error) G_GNUC_WARN_UNUSED_RESULT;
gboolean hv_recipient_load(const char *path, guint8 ret_pk[HV_RECIPIENT_PK_SIZE], GError **error)
    G_GNUC_WARN_UNUSED_RESULT;
HvIdentity *hv_identity_load(const char *path, GError **error) G_GNUC_WARN_UNUSED_RESULT;
/* Add a signing key to an identity file that has none: atomic rewrite, mode
 * 0600, the decryption key unchanged; writes its public half beside it
 * (hv_identity_signer_path). HV_VAULT_ERROR_EXISTS if it already has one. */
gboolean hv_identity_upgrade(const char *path, char **ret_signer_path, GError **error)
    G_GNUC_WARN_UNUSED_RESULT;
/* Where an identity's signing public key goes: "X.key" -> "X.sign.pub",
 * anything else -> "PATH.sign.pub". Newly allocated. */
char *hv_identity_signer_path(const char *identity_path);
/* A custodian's signing public key: from a PREFIX.sign.pub file, or from an
 * identity file that has a signing key. */
gboolean hv_signer_load(const char *path, guint8 ret_pk[HV_SIGNER_PK_SIZE], GError **error)
    G_GNUC_WARN_UNUSED_RESULT;

/* Short printable id of a public key: first 8 bytes of BLAKE2b, hex. */
char *hv_key_id(const guint8 *pk, gsize len);

G_END_DECLS
