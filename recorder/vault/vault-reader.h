/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vault-reader: reads records.hvr in large blocks and computes every
 * record's leaf hash (FORMAT.md §4) on a pool of worker threads, ahead of
 * the verifier that folds the leaves into the chain in order. Leaves are
 * independent of one another; only the fold is sequential, and it costs one
 * small hash per record. Memory is bounded: a fixed window of blocks (about
 * 1 MiB each) is in flight whatever the file's size.
 *
 * The reader only finds record boundaries (a header it can decode gives the
 * payload's length); it judges nothing. It hands the caller the same bytes a
 * plain sequential read would, in order, ending with the first record it
 * cannot complete: a header cut short, a header that does not decode (its
 * length cannot be trusted) or a payload cut short. The caller checks each
 * record exactly as before and reports the problem.
 */
#pragma once

#include "vault-format.h"

G_BEGIN_DECLS

typedef struct _HvRecordReader HvRecordReader;

/* One record as read. header_got < HV_RECORD_HEADER_SIZE: the file ended
 * inside the header. have_leaf is FALSE when the header did not decode or
 * the payload is cut short (payload_got < the header's length); then this
 * is the last record the reader returns. Pointers are valid until the next
 * call to hv_record_reader_next or hv_record_reader_free. */
typedef struct {
  const guint8 *header;
  gsize         header_got;
  const guint8 *payload;
  gsize         payload_got;
  gboolean      have_leaf;
  guint8        leaf[HV_HASH_SIZE];
} HvRecordRead;

/* Read fd (positioned at the start of records.hvr; not closed) for session_id.
 * Stops after max_records records, and, when stop_at is not G_MAXUINT64, at
 * the first record starting at or after byte stop_at (the verifier's limits
 * for sealed and unsealed sessions). threads: leaf-hashing workers; 0 = one
 * per online CPU; 1 = hash in the calling thread, no worker. */
HvRecordReader *hv_record_reader_new(int fd, const guint8 session_id[HV_SESSION_ID_SIZE],
                                     guint64 max_records, guint64 stop_at, guint threads);
void hv_record_reader_free(HvRecordReader *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HvRecordReader, hv_record_reader_free)

/* The next record in file order. Past the end (a limit reached, or after the
 * last record returned), returns a record with header_got = 0. */
void hv_record_reader_next(HvRecordReader *r, HvRecordRead *ret_rec);

/* How many leaf-hashing workers the reader uses (1: none, hashed inline). */
guint hv_record_reader_threads(const HvRecordReader *r);

G_END_DECLS
