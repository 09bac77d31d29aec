/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sha256: the SHA-256 of exported files, for the custody report.
 *
 * This is the one hash Haven does not take from libsodium. SHA-256 is what
 * courts and their tools (sha256sum) check an exported file against, and
 * libsodium's SHA-256 is portable C (about 250 MB/s here): on a 1 GiB export
 * it cost more than decrypting. OpenSSL's libcrypto (EVP) uses the CPU's
 * SHA instructions where present: the ARMv8 cryptography extensions on
 * arm64 (the Raspberry Pi 4's BCM2711 lacks them; libcrypto then runs its
 * arm64 assembly, still faster than portable C), SHA-NI on x86. Everything else (BLAKE2b, Ed25519, secretstream)
 * stays with libsodium.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Lower-case hex SHA-256 of the file at path; NULL with a G_FILE_ERROR. */
char *hv_sha256_file(const char *path, GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Lower-case hex SHA-256 of data. */
char *hv_sha256_hex(const void *data, gsize len);

/* Incremental: the SHA-256 of a stream as it is written. */
typedef struct _HvSha256 HvSha256;
HvSha256 *hv_sha256_new(void);
void      hv_sha256_update(HvSha256 *s, const void *data, gsize len);
/* Lower-case hex of everything given; s can take no more updates. */
char     *hv_sha256_finish(HvSha256 *s);
void      hv_sha256_free(HvSha256 *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HvSha256, hv_sha256_free)

G_END_DECLS
