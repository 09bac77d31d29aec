/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vault-verify: reads a session directory and checks everything that can be
 * checked without a decryption key: header, checkpoint and seal signatures,
 * the hash chain over every record, counts, ordering, final chunk, trailing
 * data. Streams the records file; memory is bounded whatever the input:
 * a verdict is a small fixed-size summary and keeps no event text. Readers
 * that show events (info, export) or decrypt media (export) get every record
 * through the record callback as the scan passes it.
 */
#pragma once

#include "vault-format.h"

G_BEGIN_DECLS

/* Chain state at a checkpoint that matched the records. */
typedef struct {
  guint64 checkpoints;        /* how many checkpoints, this one included */
  guint64 count, data_end, media_count, marker_count;
  guint8  head[HV_HASH_SIZE];
  gint64  first_wall_us, last_wall_us;
  guint64 last_mono_us;
} HvGoodPrefix;

typedef struct {
  char    *dir;
  gboolean intact;            /* no problem found */
  char    *problem;           /* first problem: "file: where: what" */
  gint     problem_code;      /* HvVaultError */
  gboolean have_header;
  HvHeader header;
  gboolean have_seal;
  HvSeal   seal;
  guint8   seal_hash[HV_HASH_SIZE];
  char    *fingerprint;       /* from the seal, when it parsed and its signature held */
  guint64  records, media_records, markers, events, checkpoints;
  guint64  media_bytes;       /* ciphertext payload bytes */
  gint64   first_wall_us, last_wall_us;
  guint64  first_mono_us, last_mono_us;
  guint64  max_media_gap_us;  /* longest stretch between media records */
  HvGoodPrefix good;          /* the longest prefix a signed checkpoint vouches for */
  GArray  *unrecorded;        /* HvSeqRange (vault-ledger.h), ascending: the sequences the
                               * session's first start event declares allocated but not
                               * recorded (FORMAT.md §8.5); NULL when it declares none */
} HvVerdict;

void hv_verdict_free(HvVerdict *v);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HvVerdict, hv_verdict_free)

/* Called for every record (media and events) as the scan reads it, after its
 * header was checked and before the next checkpoint vouches for it: a caller
 * must discard what it derived when the verdict is not intact. payload is
 * valid during the call only. Return FALSE with error to stop the scan (the
 * error becomes the problem). */
typedef gboolean (*HvRecordFunc)(const HvRecordHeader *rh, const guint8 *payload,
                                 gpointer user_data, GError **error);
typedef void (*HvProgressFunc)(guint64 done, guint64 total, gpointer user_data);

typedef struct {
  const guint8  *expected_device_pk;  /* NULL: accept the key in the header */
  HvRecordFunc   on_record;
  HvProgressFunc on_progress;
  gpointer       user_data;
  /* Leaf hashing (vault-reader.h): 0 (the default) hashes in the calling
   * thread; HV_VERIFY_ALL_CPUS uses one worker per online CPU, N > 1 uses N
   * workers (at most 8). The verdict is
   * the same either way; on_record and on_progress are always called in the
   * calling thread, in record order. */
  gint           threads;
} HvVerifyOptions;

#define HV_VERIFY_ALL_CPUS (-1)

/* Returns a verdict for any directory (a damaged session gets intact=FALSE);
 * NULL with error only when dir itself cannot be opened as a directory. */
HvVerdict *hv_vault_verify(const char *dir, const HvVerifyOptions *opts, GError **error)
    G_GNUC_WARN_UNUSED_RESULT;

/* Read, parse and signature-check a session's header only (pinned to
 * expected_device_pk when not NULL): what a decrypting reader needs before the
 * single pass that verifies and decrypts. */
gboolean hv_vault_read_header(const char *dir, const guint8 *expected_device_pk, HvHeader *ret_header,
                              GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* TRUE when dir holds any of the vault's file names (so is, or was, a session). */
gboolean hv_vault_is_session_dir(const char *dir);

/* Collect session directories under path (path itself, or sub-directories up
 * to depth 3), sorted by name. */
GPtrArray *hv_vault_find_sessions(const char *path, GError **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
