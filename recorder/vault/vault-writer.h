/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vault-writer: seals a media byte stream and events into one or more
 * session directories (master and working copy) as it arrives.
 *
 * Media bytes are cut into chunks of at most chunk_max bytes, encrypted with
 * crypto_secretstream under a fresh session key that is wrapped for each
 * recipient and then erased, framed as records, hash-chained and appended.
 * hv_vault_writer_commit() is the group commit: flush the pending chunk,
 * fsync the records, append a signed checkpoint, fsync the index. Call it at
 * least once a second. Encryption and hashing happen once; every healthy
 * session directory receives identical bytes. Every chunk is pushed with
 * TAG_REKEY (the last with TAG_FINAL), so the stream state never holds a key
 * that opens a chunk already written; plaintext buffers are wiped once
 * encrypted.
 *
 * Not thread-safe: the caller serialises calls.
 */
#pragma once

#include "vault-format.h"
#include "vault-keys.h"

G_BEGIN_DECLS

typedef struct _HvVaultWriter HvVaultWriter;

typedef struct {
  const char         *room;            /* UTF-8, at most HV_ROOM_MAX bytes */
  guint64             device_seq;      /* >= 1 */
  const guint8       *prev_seal_hash;  /* HV_HASH_SIZE bytes, NULL for none */
  const HvDeviceKey  *device_key;      /* copied; caller keeps ownership */
  const guint8       *recipients;      /* n_recipients * HV_RECIPIENT_PK_SIZE */
  guint               n_recipients;
  guint32             chunk_max;       /* 0: HV_CHUNK_MAX */
  gboolean            no_sync;         /* benchmarks only: skip fsync */
} HvWriterParams;

/* Create every directory in dirs (NULL-terminated; none may exist) and write
 * the signed header durably into each. */
HvVaultWriter *hv_vault_writer_new(const char *const *dirs, const HvWriterParams *params,
                                   GError **error) G_GNUC_WARN_UNUSED_RESULT;
void hv_vault_writer_free(HvVaultWriter *w);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HvVaultWriter, hv_vault_writer_free)

gboolean hv_vault_writer_append_media(HvVaultWriter *w, const guint8 *data, gsize len,
                                      GError **error) G_GNUC_WARN_UNUSED_RESULT;
/* Flushes pending media first, so records keep the order of arrival. */
gboolean hv_vault_writer_append_event(HvVaultWriter *w, HvRecordType type, const char *text,
                                      GError **error) G_GNUC_WARN_UNUSED_RESULT;
/* Group commit. Fails only when no session directory is left healthy. */
gboolean hv_vault_writer_commit(HvVaultWriter *w, GError **error) G_GNUC_WARN_UNUSED_RESULT;
/* Write the final media chunk (for COMPLETE), commit and seal every healthy
 * directory. Returns FALSE when no directory could be sealed. */
gboolean hv_vault_writer_finish(HvVaultWriter *w, HvSealStatus status, const char *reason,
                                GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* A directory that failed since the last call: returns TRUE and its path and
 * error (both owned by the caller), FALSE when there is none. A failed
 * directory gets a best-effort IO_FAILED seal over its last checkpoint. */
gboolean hv_vault_writer_pop_failure(HvVaultWriter *w, char **ret_dir, GError **ret_error);

guint   hv_vault_writer_healthy_sinks(HvVaultWriter *w);
guint   hv_vault_writer_n_sinks(HvVaultWriter *w);
/* Directory of sink i (in the order given to _new); *ret_healthy: still written. */
const char *hv_vault_writer_sink_dir(HvVaultWriter *w, guint i, gboolean *ret_healthy);
/* Stop writing to sink i on purpose (e.g. its filesystem reached the
 * reserve): it is handled as a failure (IO_FAILED seal over the last
 * checkpoint, reported by pop_failure as "dir: what: why"), while the others
 * go on. */
void    hv_vault_writer_retire_sink(HvVaultWriter *w, guint i, const char *what, const char *why);
guint64 hv_vault_writer_record_count(HvVaultWriter *w);
guint64 hv_vault_writer_committed_count(HvVaultWriter *w);
guint64 hv_vault_writer_committed_media(HvVaultWriter *w);
guint64 hv_vault_writer_bytes(HvVaultWriter *w);
const guint8 *hv_vault_writer_session_id(HvVaultWriter *w);
/* Seal hash and fingerprint, valid after a successful finish. */
const guint8 *hv_vault_writer_seal_hash(HvVaultWriter *w);
const char   *hv_vault_writer_fingerprint(HvVaultWriter *w);

/* Tests only: copy the secretstream state as a memory dump of the device
 * would find it, to check what it can open (FORMAT.md §6). */
void hv_vault_writer_copy_stream_state(HvVaultWriter *w,
                                       crypto_secretstream_xchacha20poly1305_state *ret_state);

G_END_DECLS
