/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vault-decrypt: the custodian side. Unwraps the session key with the
 * custodian's identity, checks it against the key commitment, and decrypts
 * media records in order into a file descriptor.
 *
 * Decryption runs in the same pass as verification: call
 * hv_decryptor_on_record() from the on_record hook of hv_vault_verify(), or
 * pass it as that hook. Each chunk is authenticated by its own decryption,
 * but completeness, order and the signatures are known only from the verdict
 * at the end of the pass: until then the output is unverified, and the caller
 * discards it unless the verdict is intact (haven export writes into a
 * private partial directory it deletes otherwise) and, for a COMPLETE
 * session, hv_decryptor_saw_final() is TRUE. Plaintext passes through one
 * sodium_malloc() buffer, wiped after each chunk is written.
 */
#pragma once

#include "vault-keys.h"
#include "vault-verify.h"

G_BEGIN_DECLS

typedef struct _HvDecryptor HvDecryptor;

HvDecryptor *hv_decryptor_new(const HvHeader *header, const HvIdentity *identity, int out_fd,
                              GError **error) G_GNUC_WARN_UNUSED_RESULT;
void hv_decryptor_free(HvDecryptor *d);
/* Where decrypted bytes go (an fd given to _new, or set later). */
void hv_decryptor_set_output(HvDecryptor *d, int out_fd);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HvDecryptor, hv_decryptor_free)

/* Also hand each chunk's plaintext, once written to the output, to sink
 * (in order, in the thread that decrypts; plain is valid during the call
 * only and wiped after it). Return FALSE with error to stop the pass. */
typedef gboolean (*HvPlainFunc)(const guint8 *plain, gsize len, gpointer user_data, GError **error);
void hv_decryptor_set_sink(HvDecryptor *d, HvPlainFunc sink, gpointer user_data);

/* An HvRecordFunc: pass the decryptor as user_data. */
gboolean hv_decryptor_on_record(const HvRecordHeader *rh, const guint8 *payload, gpointer decryptor,
                                GError **error);
gboolean hv_decryptor_saw_final(HvDecryptor *d);
guint64  hv_decryptor_plain_bytes(HvDecryptor *d);

G_END_DECLS
