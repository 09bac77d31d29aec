// SPDX-License-Identifier: GPL-2.0-or-later
#define G_LOG_DOMAIN "haven-recorder"
#include "seal-worker.h"
#include "space.h"

#include <string.h>
#include <sys/statvfs.h>

#define CLOCK_STEP_US (2 * G_USEC_PER_SEC)
#define BACKLOG_MAX   (64u << 20)  /* 64 MiB: ~2.5 min at 3 Mbit/s of stalled storage */

typedef enum { ITEM_MEDIA, ITEM_EVENT, ITEM_FINISH, ITEM_QUIT } ItemKind;

typedef struct {
  ItemKind     kind;
  HvRecordType type;     /* event */
  HvSealStatus status;   /* finish */
  char        *text;     /* event text / finish reason */
  guint8      *media;    /* plaintext media: wiped when the item is freed */
  gsize        media_len;
} Item;

struct _HvSealWorker {
  HvVaultWriter        *writer;
  guint                 commit_ms;
  HvSealWorkerCallbacks cb;
  gpointer              user_data;
  GMainContext         *context;
  GAsyncQueue          *queue;
  GThread              *thread;
  gint                  backlog;   /* atomic, bytes */
  gboolean              dead;      /* worker thread only */
  gint64                clock_offset;
  gint                  dropped_kib; /* atomic */
  gboolean              finish_sent; /* caller's thread */
  HvSealWorkerSpace     space;
  gint64                first_media_mono; /* worker thread: when media first arrived, 0 none */
  gboolean              full_sent;        /* worker thread */
};


/* "12.3 MiB": one decimal, so that "free" and "reserve" never print alike
 * while they differ; integer arithmetic, as the text is signed (no locale). */
typedef struct {
  char s[32];
} Mib1;

static Mib1
mib1(guint64 bytes)
{
  Mib1 m;
  guint64 tenths = (bytes * 10) >> 20;
  g_snprintf(m.s, sizeof m.s, "%" G_GUINT64_FORMAT ".%u MiB", tenths / 10, (guint) (tenths % 10));
  return m;
}

static void
item_free(Item *it)
{
  /* Plaintext must not outlive its sealing (nor linger in a queue dropped at
   * shutdown): wipe it before the allocator can hand the memory out again. */
  if (it->media) {
    sodium_memzero(it->media, it->media_len);
    g_free(it->media);
  }
  g_free(it->text);
  g_free(it);
}

/* ---- notifications to the main context ---- */

/* What a notification reports: one callback of HvSealWorkerCallbacks each. */
typedef enum {
  NOTE_COMMIT,         /* on_commit */
  NOTE_STORAGE_FAULT,  /* on_storage_fault */
  NOTE_FATAL,          /* on_fatal */
  NOTE_FINISHED,       /* on_finished */
  NOTE_SPACE,          /* on_space */
  NOTE_FULL,           /* on_full */
} NoteKind;

typedef struct {
  HvSealWorker *w;
  NoteKind      kind;
  guint64       committed, media, bytes;
  guint64       free_bytes, rate;   /* space */
  gint64        seconds_left;
  char         *dir, *why, *fingerprint;
  HvSealStatus  status;
  guint8        seal_hash[HV_HASH_SIZE];
} Note;

static void
note_free(gpointer p)
{
  Note *n = p;
  g_free(n->dir);
  g_free(n->why);
  g_free(n->fingerprint);
  g_free(n);
}

static gboolean
deliver(gpointer p)
{
  Note *n = p;
  const HvSealWorkerCallbacks *cb = &n->w->cb;
  gpointer ud = n->w->user_data;
  switch (n->kind) {
  case NOTE_COMMIT: if (cb->on_commit) cb->on_commit(n->committed, n->media, n->bytes, ud); break;
  case NOTE_STORAGE_FAULT: if (cb->on_storage_fault) cb->on_storage_fault(n->dir, n->why, ud); break;
  case NOTE_FATAL: if (cb->on_fatal) cb->on_fatal(n->why, ud); break;
  case NOTE_FINISHED:
    if (cb->on_finished)
      cb->on_finished(n->status, n->fingerprint, n->fingerprint ? n->seal_hash : NULL, n->why, ud);
    break;
  case NOTE_SPACE:
    if (cb->on_space)
      cb->on_space(n->dir, n->free_bytes, n->rate, n->seconds_left, ud);
    break;
  case NOTE_FULL: if (cb->on_full) cb->on_full(n->why, ud); break;
  }
  return G_SOURCE_REMOVE;
}

static Note *
note_new(NoteKind kind)
{
  Note *n = g_new0(Note, 1);
  n->kind = kind;
  return n;
}

static void
notify(HvSealWorker *w, Note *n)
{
  n->w = w;
  g_main_context_invoke_full(w->context, G_PRIORITY_DEFAULT, deliver, n, note_free);
}

/* ---- worker thread ---- */

static void
report_failures(HvSealWorker *w)
{
  char *dir;
  GError *err;
  while (hv_vault_writer_pop_failure(w->writer, &dir, &err)) {
    g_autofree char *text = g_strdup_printf("storage failed: %s", err->message);
    if (hv_vault_writer_healthy_sinks(w->writer) > 0 &&
        !hv_vault_writer_append_event(w->writer, HV_EVENT_STORAGE_FAULT, text, NULL))
      g_debug("storage fault event not written: the next write reports the failure");
    Note *n = note_new(NOTE_STORAGE_FAULT);
    n->dir = dir;
    n->why = g_strdup(err->message);
    notify(w, n);
    g_error_free(err);
  }
}

static void
fail(HvSealWorker *w, GError *err)
{
  report_failures(w);
  if (w->dead)
    return;
  w->dead = TRUE;
  Note *n = note_new(NOTE_FATAL);
  n->why = g_strdup(err->message);
  notify(w, n);
}

static void
add_event(HvSealWorker *w, HvRecordType type, const char *text)
{
  g_autoptr(GError) err = NULL;
  if (!w->dead && !hv_vault_writer_append_event(w->writer, type, text, &err))
    fail(w, err);
}

static void
check_clock(HvSealWorker *w)
{
  gint64 offset = g_get_real_time() - g_get_monotonic_time();
  gint64 step = offset - w->clock_offset;
  if (step > CLOCK_STEP_US || step < -CLOCK_STEP_US) {
    g_autofree char *text = g_strdup_printf("wall clock stepped by %+.3f s", step / 1e6);
    add_event(w, HV_EVENT_CLOCK_STEP, text);
  }
  w->clock_offset = offset;
}

/* After a commit: every root still written keeps the reserve. A root below
 * it is retired while another has room; when none has, the session is
 * told to stop (once). Cheap: one statvfs per root per commit. */
static void
check_space(HvSealWorker *w)
{
  if (!w->space.configured_rate)
    return;
  guint n = MIN(hv_vault_writer_n_sinks(w->writer), 8);
  guint64 avail[8] = { 0 };
  gboolean in_use[8] = { FALSE }, full[8];
  const char *dirs[8];
  for (guint i = 0; i < n; i++) {
    dirs[i] = hv_vault_writer_sink_dir(w->writer, i, &in_use[i]);
    struct statvfs st;
    if (in_use[i] && statvfs(dirs[i], &st) == 0)
      avail[i] = (guint64) st.f_bavail * st.f_frsize;
    else if (in_use[i])
      avail[i] = G_MAXUINT64; /* unreadable: the next write says what is wrong */
  }
  gint64 elapsed = w->first_media_mono ? g_get_monotonic_time() - w->first_media_mono : 0;
  guint64 bytes = hv_vault_writer_bytes(w->writer);
  guint64 plan = hv_space_rate(w->space.configured_rate, bytes, elapsed, TRUE);
  guint64 reserve = hv_space_reserve(plan, w->space.reserve_seconds);
  HvSpaceDecision dec = hv_space_decide(avail, in_use, n, reserve, full);
  if (dec == HV_SPACE_RETIRE) {
    const char *room = NULL;
    for (guint i = 0; i < n; i++)
      if (in_use[i] && !full[i])
        room = room ? room : dirs[i];
    for (guint i = 0; i < n; i++) {
      if (!full[i])
        continue;
      g_autofree char *why = g_strdup_printf("%s free, under the %s reserve; continuing on %s",
                                             mib1(avail[i]).s, mib1(reserve).s, room);
      hv_vault_writer_retire_sink(w->writer, i, "storage full, copy sealed", why);
      in_use[i] = FALSE;
    }
    report_failures(w);
  } else if (dec == HV_SPACE_FULL && !w->full_sent) {
    w->full_sent = TRUE;
    guint64 least = G_MAXUINT64;
    for (guint i = 0; i < n; i++)
      if (in_use[i])
        least = MIN(least, avail[i]);
    Note *f = note_new(NOTE_FULL);
    f->why = g_strdup_printf("storage full: %s free, under the %s reserve (%u s of media)",
                             mib1(least).s, mib1(reserve).s, w->space.reserve_seconds);
    notify(w, f);
  }
  /* the binding root: the least time left (all roots share one stream and rate) */
  guint64 rate = hv_space_rate(w->space.configured_rate, bytes, elapsed, FALSE);
  gint binding = -1;
  for (guint i = 0; i < n; i++)
    if (in_use[i] && (binding < 0 || avail[i] < avail[binding]))
      binding = (gint) i;
  if (binding < 0)
    return;
  Note *s = note_new(NOTE_SPACE);
  s->dir = g_strdup(dirs[binding]);
  s->free_bytes = avail[binding];
  s->rate = rate;
  s->seconds_left = hv_space_seconds_left(avail[binding], reserve, rate);
  notify(w, s);
}

static void
commit(HvSealWorker *w)
{
  g_autoptr(GError) err = NULL;
  check_clock(w);
  if (!hv_vault_writer_commit(w->writer, &err)) {
    fail(w, err);
    return;
  }
  report_failures(w);
  Note *n = note_new(NOTE_COMMIT);
  n->committed = hv_vault_writer_committed_count(w->writer);
  n->media = hv_vault_writer_committed_media(w->writer);
  n->bytes = hv_vault_writer_bytes(w->writer);
  notify(w, n);
  check_space(w);
}

static void
finish(HvSealWorker *w, Item *it)
{
  g_autoptr(GError) err = NULL;
  Note *n = note_new(NOTE_FINISHED);
  n->status = it->status;
  gint dropped = g_atomic_int_get(&w->dropped_kib);
  if (dropped && !w->dead) {
    g_autofree char *t = g_strdup_printf("about %d KiB of media were dropped while storage stalled",
                                         dropped);
    add_event(w, HV_EVENT_STORAGE_FAULT, t);
  }
  if (!w->dead && hv_vault_writer_finish(w->writer, it->status, it->text, &err)) {
    n->fingerprint = g_strdup(hv_vault_writer_fingerprint(w->writer));
    memcpy(n->seal_hash, hv_vault_writer_seal_hash(w->writer), HV_HASH_SIZE);
  } else {
    n->why = g_strdup(err ? err->message : "storage had already failed");
  }
  report_failures(w);
  notify(w, n);
}

static gpointer
worker_main(gpointer data)
{
  HvSealWorker *w = data;
  gint64 next = g_get_monotonic_time() + w->commit_ms * 1000;
  for (;;) {
    gint64 wait = next - g_get_monotonic_time();
    Item *it = wait > 0 ? g_async_queue_timeout_pop(w->queue, (guint64) wait) : NULL;
    if (!it || g_get_monotonic_time() >= next) {
      if (!w->dead)
        commit(w);
      next = g_get_monotonic_time() + w->commit_ms * 1000;
    }
    if (!it)
      continue;
    g_autoptr(GError) err = NULL;
    switch (it->kind) {
    case ITEM_MEDIA: {
      g_atomic_int_add(&w->backlog, -(gint) it->media_len);
      if (!w->first_media_mono)
        w->first_media_mono = g_get_monotonic_time();
      if (!w->dead && !hv_vault_writer_append_media(w->writer, it->media, it->media_len, &err))
        fail(w, err);
      /* make the very first media durable at once: it turns the recording light on */
      else if (!w->dead && hv_vault_writer_committed_media(w->writer) == 0) {
        commit(w);
        next = g_get_monotonic_time() + w->commit_ms * 1000;
      }
      break;
    }
    case ITEM_EVENT:
      add_event(w, it->type, it->text);
      break;
    case ITEM_FINISH:
      finish(w, it);
      item_free(it);
      return NULL;
    case ITEM_QUIT:
      item_free(it);
      return NULL;
    }
    item_free(it);
  }
}

HvSealWorker *
hv_seal_worker_new(HvVaultWriter *writer, guint commit_ms, const HvSealWorkerSpace *space,
                   const HvSealWorkerCallbacks *cb, gpointer user_data)
{
  HvSealWorker *w = g_new0(HvSealWorker, 1);
  if (space)
    w->space = *space;
  w->writer = writer;
  w->commit_ms = commit_ms;
  w->cb = *cb;
  w->user_data = user_data;
  w->context = g_main_context_ref_thread_default();
  w->queue = g_async_queue_new_full((GDestroyNotify) item_free);
  w->clock_offset = g_get_real_time() - g_get_monotonic_time();
  w->thread = g_thread_new("haven-seal", worker_main, w);
  return w;
}

void
hv_seal_worker_free(HvSealWorker *w)
{
  if (!w)
    return;
  /* A worker that was never finished is abandoned: queued data is dropped and
   * the session stays unsealed, for recovery to seal INTERRUPTED. */
  if (!w->finish_sent) {
    Item *quit = g_new0(Item, 1);
    quit->kind = ITEM_QUIT;
    g_async_queue_push_front(w->queue, quit);
  }
  g_thread_join(w->thread);
  g_async_queue_unref(w->queue);
  hv_vault_writer_free(w->writer);
  g_main_context_unref(w->context);
  g_free(w);
}

void
hv_seal_worker_push_media(HvSealWorker *w, const guint8 *data, gsize len)
{
  if ((gsize) g_atomic_int_get(&w->backlog) + len > BACKLOG_MAX) {
    g_atomic_int_add(&w->dropped_kib, (gint) ((len + 1023) / 1024)); /* an event at the end */
    return;
  }
  Item *it = g_new0(Item, 1);
  it->kind = ITEM_MEDIA;
  it->media = g_memdup2(data, len);
  it->media_len = len;
  g_atomic_int_add(&w->backlog, (gint) len);
  g_async_queue_push(w->queue, it);
}

void
hv_seal_worker_push_event(HvSealWorker *w, HvRecordType type, const char *text)
{
  Item *it = g_new0(Item, 1);
  it->kind = ITEM_EVENT;
  it->type = type;
  it->text = g_strdup(text);
  g_async_queue_push(w->queue, it);
}

void
hv_seal_worker_finish(HvSealWorker *w, HvSealStatus status, const char *reason)
{
  g_return_if_fail(!w->finish_sent);
  w->finish_sent = TRUE;
  Item *it = g_new0(Item, 1);
  it->kind = ITEM_FINISH;
  it->status = status;
  it->text = g_strdup(reason);
  g_async_queue_push(w->queue, it);
}

gsize
hv_seal_worker_backlog(HvSealWorker *w)
{
  return (gsize) g_atomic_int_get(&w->backlog);
}
