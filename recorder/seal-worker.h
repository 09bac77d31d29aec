/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * seal-worker: the one thread that owns a session's HvVaultWriter. Media
 * buffers and events are queued in arrival order; the worker seals them and
 * runs the group commit every commit_ms, so fsync never blocks the main loop
 * (buttons, lights) or the capture threads. It watches the wall clock against
 * the monotonic clock and writes a clock-step event when they diverge.
 * Notifications run on the main context that created the worker.
 */
#pragma once

#include "vault/vault.h"

G_BEGIN_DECLS

typedef struct _HvSealWorker HvSealWorker;

typedef struct {
  /* A group commit made `committed` records (`media` of them media chunks) durable. */
  void (*on_commit)(guint64 committed, guint64 media, guint64 bytes, gpointer user_data);
  /* One storage root failed (the session goes on in the others). */
  void (*on_storage_fault)(const char *dir, const char *why, gpointer user_data);
  /* No storage root is left: the session cannot continue. */
  void (*on_fatal)(const char *why, gpointer user_data);
  /* The session was sealed; fingerprint NULL when sealing failed (why set). */
  void (*on_finished)(HvSealStatus status, const char *fingerprint, const guint8 *seal_hash,
                      const char *why, gpointer user_data);
  /* After each commit: the binding root (the one that runs out first) has
   * seconds_left of recording above the reserve at rate bytes/s. */
  void (*on_space)(const char *dir, guint64 free_bytes, guint64 rate, gint64 seconds_left,
                   gpointer user_data);
  /* Every root still written reached the reserve: finish the session now
   * (the reserve holds what the stop still writes). Sent once. A root that
   * reaches it while another has room is retired instead (on_storage_fault,
   * and a storage-fault event in the chain). */
  void (*on_full)(const char *why, gpointer user_data);
} HvSealWorkerCallbacks;

/* The storage reserve (space.h); configured_rate 0: no space checks. */
typedef struct {
  guint64 configured_rate;  /* bytes/s before a rate is measured */
  guint   reserve_seconds;
} HvSealWorkerSpace;

/* Takes ownership of the writer. space may be NULL (no space checks). */
HvSealWorker *hv_seal_worker_new(HvVaultWriter *writer, guint commit_ms, const HvSealWorkerSpace *space,
                                 const HvSealWorkerCallbacks *cb, gpointer user_data);
/* Joins the thread; call after on_finished (or to abandon the session, which
 * leaves it unsealed for recovery). */
void hv_seal_worker_free(HvSealWorker *w);

/* Thread-safe. Copies data. */
void hv_seal_worker_push_media(HvSealWorker *w, const guint8 *data, gsize len);
void hv_seal_worker_push_event(HvSealWorker *w, HvRecordType type, const char *text);
void hv_seal_worker_finish(HvSealWorker *w, HvSealStatus status, const char *reason);
/* Bytes waiting to be sealed (back-pressure indicator). */
gsize hv_seal_worker_backlog(HvSealWorker *w);

G_END_DECLS
