/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vault-keys: key files. The device signing key (Ed25519) and custodian
 * recipient/identity keys (X25519). One line of text each:
 *   "haven-device-secret-v1 <base64>"   64-byte Ed25519 secret key   (0600)
 *   "haven-device-public-v1 <base64>"   32-byte Ed25519 public key
 *   "haven-recipient-v1 <base64>"       32-byte X25519 public key
 *   "haven-identity-v1 <base64>"        32-byte X25519 secret key    (0600)
 * Secret keys live in sodium_malloc() memory and are wiped on free.
 */
#pragma once

#include "vault-format.h"

G_BEGIN_DECLS

typedef struct {
  guint8  pk[HV_DEVICE_PK_SIZE];
  guint8 *sk;  /* sodium_malloc, HV_DEVICE_SK_SIZE */
} HvDeviceKey;

typedef struct {
  guint8  pk[HV_RECIPIENT_PK_SIZE];
  guint8 *sk;  /* sodium_malloc, HV_RECIPIENT_SK_SIZE */
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

/* Custodian key pair: PREFIX.pub (recipient) and PREFIX.key (identity, 0600). */
gboolean hv_custodian_keygen(const char *prefix, char **ret_pub_path, char **ret_key_path,
                             GError **error) G_GNUC_WARN_UNUSED_RESULT;
gboolean hv_recipient_load(const char *path, guint8 ret_pk[HV_RECIPIENT_PK_SIZE], GError **error)
    G_GNUC_WARN_UNUSED_RESULT;
HvIdentity *hv_identity_load(const char *path, GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Short printable id of a public key: first 8 bytes of BLAKE2b, hex. */
char *hv_key_id(const guint8 *pk, gsize len);

G_END_DECLS
