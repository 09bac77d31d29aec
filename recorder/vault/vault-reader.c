// SPDX-License-Identifier: GPL-2.0-or-later
#define G_LOG_DOMAIN "haven-vault"
#include "vault-reader.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

/* A block holds about BLOCK_DATA bytes of whole records; it has room for one
 * more whole record so that a record cut by the block's end always fits in
 * the next block with the bytes carried over. */
#define BLOCK_DATA   (1u << 20)
#define RECORD_MAX   (HV_RECORD_HEADER_SIZE + HV_MEDIA_RECORD_MAX)
#define BLOCK_CAP    (BLOCK_DATA + RECORD_MAX)
#define THREADS_MAX  8u
#define WINDOW_MAX   12u

typedef struct {
  guint32 offset;             /* of the record header in the block */
  guint32 length;             /* payload bytes, from the header */
  guint8  leaf[HV_HASH_SIZE];
} Rec;

typedef struct {
  HvRecordReader *r;
  guint8  *buf;
  gsize    len;
  gsize    used;              /* bytes of whole records (and the tail); the rest is carried over */
  GArray  *recs;              /* Rec: the whole records, in order */
  /* the reader's last record, when it could not be completed */
  gboolean have_tail;
  gsize    tail_offset, tail_header_got, tail_payload_got;
  gboolean done;              /* leaves computed; under r->lock */
} Block;

struct _HvRecordReader {
  int      fd;
  guint8   session_id[HV_SESSION_ID_SIZE];
  guint64  max_records, stop_at;
  guint    threads;
  GThreadPool *pool;
  GMutex   lock;
  GCond    cond;
  Block   *blocks;            /* a ring of n_blocks */
  guint    n_blocks, oldest, in_flight;
  guint    next_rec;          /* in the oldest block; recs->len: its tail next */
  gboolean tail_given;
  guint64  records, offset;   /* what the blocks produced so far cover */
  gboolean finished;          /* no more blocks: a limit, the end, or a record that cannot complete */
};

static void
hash_block(Block *b)
{
  HvRecordReader *r = b->r;
  for (guint i = 0; i < b->recs->len; i++) {
    Rec *rec = &g_array_index(b->recs, Rec, i);
    const guint8 *hdr = b->buf + rec->offset;
    hv_chain_leaf(r->session_id, hdr, hdr + HV_RECORD_HEADER_SIZE, rec->length, rec->leaf);
  }
}

static void
worker(gpointer data, gpointer user_data)
{
  Block *b = data;
  HvRecordReader *r = user_data;
  hash_block(b);
  g_mutex_lock(&r->lock);
  b->done = TRUE;
  g_cond_broadcast(&r->cond);
  g_mutex_unlock(&r->lock);
}

guint
hv_record_reader_threads(const HvRecordReader *r)
{
  return r->threads;
}

HvRecordReader *
hv_record_reader_new(int fd, const guint8 session_id[HV_SESSION_ID_SIZE], guint64 max_records,
                     guint64 stop_at, guint threads)
{
  HvRecordReader *r = g_new0(HvRecordReader, 1);
  r->fd = fd;
  memcpy(r->session_id, session_id, HV_SESSION_ID_SIZE);
  r->max_records = max_records;
  r->stop_at = stop_at;
  if (threads == 0)
    threads = g_get_num_processors();
  r->threads = CLAMP(threads, 1u, THREADS_MAX);
  g_mutex_init(&r->lock);
  g_cond_init(&r->cond);
  if (r->threads > 1)
    r->pool = g_thread_pool_new(worker, r, (gint) r->threads, FALSE, NULL);
  if (!r->pool)
    r->threads = 1;
  /* Two blocks per worker keep each busy while the caller folds; the bound
   * keeps the window (and peak memory) small on a many-core machine. */
  r->n_blocks = r->threads == 1 ? 2 : MIN(2 * r->threads + 2, WINDOW_MAX);
  r->blocks = g_new0(Block, r->n_blocks);
  for (guint i = 0; i < r->n_blocks; i++) {
    r->blocks[i].r = r;
    r->blocks[i].recs = g_array_new(FALSE, FALSE, sizeof(Rec));
  }
  return r;
}

void
hv_record_reader_free(HvRecordReader *r)
{
  if (!r)
    return;
  if (r->pool)
    g_thread_pool_free(r->pool, FALSE, TRUE);   /* runs and waits for the blocks in flight */
  for (guint i = 0; i < r->n_blocks; i++) {
    g_free(r->blocks[i].buf);
    g_array_unref(r->blocks[i].recs);
  }
  g_free(r->blocks);
  g_mutex_clear(&r->lock);
  g_cond_clear(&r->cond);
  g_free(r);
}

/* Read until the buffer is full or the file ends; FALSE at the end of the
 * file. A read error ends the data as the end of the file would: the
 * verifier then reports the record it cuts short. */
static gboolean
fill(HvRecordReader *r, Block *b)
{
  while (b->len < BLOCK_CAP) {
    ssize_t n = read(r->fd, b->buf + b->len, BLOCK_CAP - b->len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return FALSE;
    b->len += (gsize) n;
  }
  return TRUE;
}

/* Split a filled block into records; what remains of a record cut by the
 * block's end is left at b->buf + b->used for the next block. */
static void
split(HvRecordReader *r, Block *b, gboolean more)
{
  gsize p = 0;
  for (;;) {
    if (r->records >= r->max_records || (r->stop_at != G_MAXUINT64 && r->offset >= r->stop_at)) {
      r->finished = TRUE;
      break;
    }
    gsize avail = b->len - p;
    HvRecordHeader rh;
    if (avail < HV_RECORD_HEADER_SIZE) {
      if (!more) {
        b->have_tail = TRUE;
        b->tail_offset = p;
        b->tail_header_got = avail;
        r->finished = TRUE;
      }
      break;
    }
    if (!hv_record_header_decode(b->buf + p, &rh, NULL)) {
      b->have_tail = TRUE;
      b->tail_offset = p;
      b->tail_header_got = HV_RECORD_HEADER_SIZE;
      r->finished = TRUE;
      break;
    }
    if (avail - HV_RECORD_HEADER_SIZE < rh.length) {
      if (!more) {
        b->have_tail = TRUE;
        b->tail_offset = p;
        b->tail_header_got = HV_RECORD_HEADER_SIZE;
        b->tail_payload_got = avail - HV_RECORD_HEADER_SIZE;
        r->finished = TRUE;
      }
      break;
    }
    Rec rec = { .offset = (guint32) p, .length = rh.length };
    g_array_append_val(b->recs, rec);
    p += HV_RECORD_HEADER_SIZE + rh.length;
    r->offset += HV_RECORD_HEADER_SIZE + rh.length;
    r->records++;
  }
  b->used = p;
}

/* Produce the next block into the free slot after the newest one. */
static void
produce(HvRecordReader *r)
{
  guint slot = (r->oldest + r->in_flight) % r->n_blocks;
  Block *b = &r->blocks[slot];
  if (!b->buf)
    b->buf = g_malloc(BLOCK_CAP);
  b->len = 0;
  g_array_set_size(b->recs, 0);
  b->have_tail = FALSE;
  b->tail_offset = b->tail_header_got = b->tail_payload_got = 0;
  b->done = FALSE;
  if (r->in_flight > 0) {
    /* the newest block's cut record; workers only read that block, so reading it here is safe */
    const Block *prev = &r->blocks[(slot + r->n_blocks - 1) % r->n_blocks];
    memcpy(b->buf, prev->buf + prev->used, prev->len - prev->used);
    b->len = prev->len - prev->used;
  }
  split(r, b, fill(r, b));
  r->in_flight++;
  if (r->pool && b->recs->len > 0) {
    g_thread_pool_push(r->pool, b, NULL);
  } else {
    hash_block(b);
    b->done = TRUE;
  }
}

void
hv_record_reader_next(HvRecordReader *r, HvRecordRead *ret_rec)
{
  memset(ret_rec, 0, sizeof *ret_rec);
  for (;;) {
    while (!r->finished && r->in_flight < r->n_blocks)
      produce(r);
    if (r->in_flight == 0)
      return;
    Block *b = &r->blocks[r->oldest];
    g_mutex_lock(&r->lock);
    while (!b->done)
      g_cond_wait(&r->cond, &r->lock);
    g_mutex_unlock(&r->lock);
    if (r->next_rec < b->recs->len) {
      const Rec *rec = &g_array_index(b->recs, Rec, r->next_rec++);
      ret_rec->header = b->buf + rec->offset;
      ret_rec->header_got = HV_RECORD_HEADER_SIZE;
      ret_rec->payload = ret_rec->header + HV_RECORD_HEADER_SIZE;
      ret_rec->payload_got = rec->length;
      ret_rec->have_leaf = TRUE;
      memcpy(ret_rec->leaf, rec->leaf, HV_HASH_SIZE);
      return;
    }
    if (b->have_tail && !r->tail_given) {
      r->tail_given = TRUE;
      ret_rec->header = b->buf + b->tail_offset;
      ret_rec->header_got = b->tail_header_got;
      ret_rec->payload = ret_rec->header + b->tail_header_got;
      ret_rec->payload_got = b->tail_payload_got;
      return;
    }
    if (b->have_tail || (r->finished && r->in_flight == 1))
      return;   /* past the end: the tail or a limit was the last thing */
    r->oldest = (r->oldest + 1) % r->n_blocks;
    r->in_flight--;
    r->next_rec = 0;
  }
}
