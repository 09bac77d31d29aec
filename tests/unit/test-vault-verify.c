// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The verifier against FORMAT.md, one case per rule a second implementation
 * must check (or must not). Each case edits a genuine session and re-signs
 * everything with the device key, as a buggy or hostile device would, so that
 * only the rule under test can catch it.
 */
#include "test-helpers.h"
#include "vault-file.h"
#include "vault-verify.h"

#include <string.h>

typedef struct {
  void (*header)(HvHeader *h);
  void (*records)(guint8 *data, gsize len);
  void (*seal)(HvSeal *s);
  gboolean zero_checkpoint;   /* put a checkpoint of 0 records first */
} Edit;

static GBytes *
read_all(const char *dir, const char *name)
{
  GBytes *b = read_session_file(dir, name);
  g_assert_nonnull(b);
  return b;
}

static void
write_all(const char *dir, const char *name, const void *data, gsize len)
{
  g_autofree char *p = g_build_filename(dir, name, NULL);
  g_autoptr(GError) err = NULL;
  g_assert_true(g_file_set_contents(p, data, len, &err));
}

static void
checkpoint_put(GByteArray *out, const HvCheckpoint *cp, const guint8 *sid, const guint8 *sk)
{
  guint8 enc[HV_CHECKPOINT_SIZE];
  hv_checkpoint_encode(cp, enc);
  hv_checkpoint_sign(enc, sid, sk);
  g_byte_array_append(out, enc, sizeof enc);
}

/* Apply the edit to the session in dir and re-sign header, checkpoints and seal. */
static void
resign(Fixture *f, const char *dir, const Edit *e)
{
  const guint8 *sk = f->device->sk;
  g_autoptr(GBytes) hb = read_all(dir, HV_FILE_HEADER);
  HvHeader h;
  g_assert_true(hv_header_decode(g_bytes_get_data(hb, NULL), g_bytes_get_size(hb), &h, NULL));
  if (e->header)
    e->header(&h);
  g_autoptr(GBytes) henc = hv_header_encode(&h);
  gsize hlen;
  guint8 *hp = (guint8 *) g_bytes_get_data(henc, &hlen);
  hv_header_sign(hp, hlen, sk);
  write_all(dir, HV_FILE_HEADER, hp, hlen);
  guint8 header_hash[HV_HASH_SIZE], head[HV_HASH_SIZE];
  hv_hash(hp, hlen, header_hash);
  hv_chain_init(header_hash, head);

  g_autoptr(GBytes) rb = read_all(dir, HV_FILE_RECORDS);
  gsize rlen;
  guint8 *rec = g_memdup2(g_bytes_get_data(rb, NULL), g_bytes_get_size(rb));
  rlen = g_bytes_get_size(rb);
  if (e->records)
    e->records(rec, rlen);
  write_all(dir, HV_FILE_RECORDS, rec, rlen);

  g_autoptr(GBytes) ib = read_all(dir, HV_FILE_INDEX);
  const guint8 *idx = g_bytes_get_data(ib, NULL);
  gsize n_cp = g_bytes_get_size(ib) / HV_CHECKPOINT_SIZE;
  g_autoptr(GByteArray) out = g_byte_array_new();
  if (e->zero_checkpoint) {
    HvCheckpoint z = { 0 };
    memcpy(z.head, head, HV_HASH_SIZE);
    checkpoint_put(out, &z, h.session_id, sk);
  }
  gsize off = 0;
  guint64 count = 0;
  for (gsize i = 0; i < n_cp; i++) {
    HvCheckpoint cp;
    g_assert_true(hv_checkpoint_decode(idx + i * HV_CHECKPOINT_SIZE, &cp, NULL));
    while (count < cp.count) {
      guint32 len = hv_get_u32(rec + off + 32);
      hv_chain_step(head, h.session_id, rec + off, rec + off + HV_RECORD_HEADER_SIZE, len);
      off += HV_RECORD_HEADER_SIZE + len;
      count++;
    }
    cp.data_end = off;
    memcpy(cp.head, head, HV_HASH_SIZE);
    checkpoint_put(out, &cp, h.session_id, sk);
  }
  write_all(dir, HV_FILE_INDEX, out->data, out->len);

  g_autoptr(GBytes) sb = read_all(dir, HV_FILE_SEAL);
  HvSeal s;
  g_assert_true(hv_seal_decode(g_bytes_get_data(sb, NULL), g_bytes_get_size(sb), &s, NULL));
  memcpy(s.header_hash, header_hash, HV_HASH_SIZE);
  memcpy(s.head, head, HV_HASH_SIZE);
  s.checkpoint_count = out->len / HV_CHECKPOINT_SIZE; /* the seal binds the index (§7) */
  hv_hash(out->data, out->len, s.index_hash);
  if (e->seal)
    e->seal(&s);
  g_autoptr(GBytes) senc = hv_seal_encode(&s);
  gsize slen;
  guint8 *sp = (guint8 *) g_bytes_get_data(senc, &slen);
  hv_seal_sign(sp, slen, sk);
  write_all(dir, HV_FILE_SEAL, sp, slen);
  g_free(rec);
}

static HvVerdict *
verify(const char *dir)
{
  g_autoptr(GError) err = NULL;
  HvVerdict *v = hv_vault_verify(dir, NULL, &err);
  g_assert_no_error(err);
  return v;
}

static char *
edited_session(Fixture *f, const Edit *e)
{
  char *dir = fixture_session(f, "s", 300000, TRUE);
  resign(f, dir, e);
  return dir;
}

/* The re-signing itself changes nothing a verifier can see. */
static void
test_resign_identity(Fixture *f, gconstpointer data)
{
  Edit e = { 0 };
  g_autofree char *dir = edited_session(f, &e);
  g_autoptr(HvVerdict) v = verify(dir);
  g_assert_cmpstr(v->problem, ==, NULL);
  g_assert_true(v->intact);
}

/* §2/§3: a media payload is at most chunk_max + 17 bytes. */
static void chunk_max_lower(HvHeader *h) { h->chunk_max = 1000; }

static void
test_chunk_max(Fixture *f, gconstpointer data)
{
  Edit e = { .header = chunk_max_lower };
  g_autofree char *dir = edited_session(f, &e);
  g_autoptr(HvVerdict) v = verify(dir);
  g_assert_false(v->intact);
  g_assert_cmpint(v->problem_code, ==, HV_VAULT_ERROR_MALFORMED);
  g_assert_nonnull(strstr(v->problem, "chunk_max"));
}

/* A session written with a small chunk_max uses chunks of exactly that size. */
static void
test_chunk_max_exact(Fixture *f, gconstpointer data)
{
  g_autofree char *dir = g_build_filename(f->dir, "small", NULL);
  const char *dirs[] = { dir, NULL };
  HvWriterParams p = { .device_seq = 1, .device_key = f->device, .recipients = f->recipient,
                       .n_recipients = 1, .chunk_max = 1000 };
  g_autoptr(GError) err = NULL;
  g_autoptr(HvVaultWriter) w = hv_vault_writer_new(dirs, &p, &err);
  g_assert_no_error(err);
  guint8 buf[5000] = { 0 };
  g_assert_true(hv_vault_writer_append_media(w, buf, sizeof buf, &err));
  g_assert_true(hv_vault_writer_finish(w, HV_STATUS_COMPLETE, "done", &err));
  g_autoptr(HvVerdict) v = verify(dir);
  g_assert_true(v->intact);
  g_assert_cmpuint(v->media_bytes, ==, 5000 + v->media_records * HV_SS_ABYTES);
}

/* §7: start_wall_us, end_wall_us and end_mono_us are the first and last records'. */
static void start_late(HvSeal *s) { s->start_wall_us += 1; }
static void end_early(HvSeal *s) { s->end_wall_us -= 1; }
static void mono_off(HvSeal *s) { s->end_mono_us += 1000000; }

static void
test_seal_times(Fixture *f, gconstpointer data)
{
  void (*edits[])(HvSeal *) = { start_late, end_early, mono_off };
  for (guint i = 0; i < G_N_ELEMENTS(edits); i++) {
    Edit e = { .seal = edits[i] };
    g_autofree char *dir = edited_session(f, &e);
    g_autoptr(HvVerdict) v = verify(dir);
    g_assert_false(v->intact);
    g_assert_cmpint(v->problem_code, ==, HV_VAULT_ERROR_CHAIN);
    g_assert_nonnull(strstr(v->problem, HV_FILE_SEAL));
    rm_tree(dir);
  }
}

/* §5: count strictly increases from an implicit 0: a checkpoint of 0 records is INVALID. */
static void
test_zero_checkpoint(Fixture *f, gconstpointer data)
{
  Edit e = { .zero_checkpoint = TRUE };
  g_autofree char *dir = edited_session(f, &e);
  g_autoptr(HvVerdict) v = verify(dir);
  g_assert_false(v->intact);
  g_assert_cmpint(v->problem_code, ==, HV_VAULT_ERROR_CHAIN);
}

/* §3: event text is display data: invalid UTF-8 and NUL bytes do not make a
 * session INVALID (readers escape it when they show it). */
static void
event_bytes(guint8 *rec, gsize len)
{
  /* record 0 is the "start" event */
  g_assert_cmpuint(hv_get_u16(rec + 4), ==, HV_EVENT_START);
  g_assert_cmpuint(hv_get_u32(rec + 32), ==, 5);
  memcpy(rec + HV_RECORD_HEADER_SIZE, "\xff\x00\x1b\n\xc3", 5);
}

static void
test_event_text_not_checked(Fixture *f, gconstpointer data)
{
  Edit e = { .records = event_bytes };
  g_autofree char *dir = edited_session(f, &e);
  g_autoptr(HvVerdict) v = verify(dir);
  g_assert_cmpstr(v->problem, ==, NULL);
  g_assert_true(v->intact);
}

/* Streaming: the record callback sees every event, in order, and nothing is kept. */
typedef struct {
  guint events;
  guint64 last_index;
} Seen;

static gboolean
count_events(const HvRecordHeader *rh, const guint8 *payload, gpointer user_data, GError **error)
{
  Seen *s = user_data;
  if (rh->type != HV_RECORD_MEDIA)
    s->events++;
  s->last_index = rh->index;
  return TRUE;
}

static void
test_events_streamed(Fixture *f, gconstpointer data)
{
  g_autofree char *dir = fixture_session(f, "s", 300000, TRUE);
  Seen seen = { 0 };
  HvVerifyOptions o = { .on_record = count_events, .user_data = &seen };
  g_autoptr(HvVerdict) v = hv_vault_verify(dir, &o, NULL);
  g_assert_true(v->intact);
  g_assert_cmpuint(seen.events, ==, v->events);
  g_assert_cmpuint(seen.last_index + 1, ==, v->records);
}

/* Leaves hashed on workers (vault-reader.h) give the verdict of the calling
 * thread alone, for a session of several 1 MiB blocks damaged anywhere:
 * bytes flipped in headers and payloads on both sides of a block boundary,
 * the file cut short there, or bytes appended. */
static void
assert_same_verdict(const HvVerdict *a, const HvVerdict *b)
{
  g_assert_cmpstr(a->problem, ==, b->problem);
  g_assert_cmpint(a->problem_code, ==, b->problem_code);
  g_assert_cmpint(a->intact, ==, b->intact);
  g_assert_cmpuint(a->records, ==, b->records);
  g_assert_cmpuint(a->media_records, ==, b->media_records);
  g_assert_cmpuint(a->events, ==, b->events);
  g_assert_cmpuint(a->good.count, ==, b->good.count);
  g_assert_cmpmem(a->good.head, HV_HASH_SIZE, b->good.head, HV_HASH_SIZE);
  g_assert_cmpstr(a->fingerprint, ==, b->fingerprint);
}

static HvVerdict *
verify_threads(const char *dir, gint threads)
{
  HvVerifyOptions o = { .threads = threads };
  HvVerdict *v = hv_vault_verify(dir, &o, NULL);
  g_assert_nonnull(v);
  return v;
}

static void
test_threads_same_verdict(Fixture *f, gconstpointer data)
{
  g_autofree char *dir = fixture_session(f, "big", 3u << 20, TRUE);
  g_autofree char *path = g_build_filename(dir, HV_FILE_RECORDS, NULL);
  g_autoptr(GBytes) orig = read_all(dir, HV_FILE_RECORDS);
  gsize len = g_bytes_get_size(orig);
  const guint8 *data0 = g_bytes_get_data(orig, NULL);
  g_assert_cmpuint(len, >, 3u << 20);
  /* the record that crosses the second block's start */
  gsize at = 0;
  while (at + HV_RECORD_HEADER_SIZE + hv_get_u32(data0 + at + 32) < (1u << 20))
    at += HV_RECORD_HEADER_SIZE + hv_get_u32(data0 + at + 32);
  gsize flips[] = { 0, 5, 33, at + 8, at + 36, at + 100, (1u << 20) - 1, 1u << 20, (2u << 20) + 7,
                    len - 1 };
  gsize cuts[] = { at + 20, at + 50, 1u << 20, len - 30 };
  for (guint i = 0; i < G_N_ELEMENTS(flips) + G_N_ELEMENTS(cuts) + 2; i++) {
    g_autofree guint8 *d = g_memdup2(data0, len);
    gsize n = len;
    if (i < G_N_ELEMENTS(flips))
      d[flips[i]] ^= 0x40;
    else if (i < G_N_ELEMENTS(flips) + G_N_ELEMENTS(cuts))
      n = cuts[i - G_N_ELEMENTS(flips)];
    else if (i == G_N_ELEMENTS(flips) + G_N_ELEMENTS(cuts)) {
      d = g_realloc(d, len + 10);
      memset(d + len, 0, 10);
      n = len + 10;
    }   /* the last round: unchanged */
    g_assert_true(g_file_set_contents(path, (const char *) d, n, NULL));
    g_autoptr(HvVerdict) one = verify_threads(dir, 0);
    g_autoptr(HvVerdict) three = verify_threads(dir, 3);
    g_autoptr(HvVerdict) all = verify_threads(dir, HV_VERIFY_ALL_CPUS);
    g_test_message("case %u: %s", i, one->problem ? one->problem : "intact");
    g_assert_true(one->intact == (i == G_N_ELEMENTS(flips) + G_N_ELEMENTS(cuts) + 1));
    assert_same_verdict(one, three);
    assert_same_verdict(one, all);
  }
}

/* hv_vault_verify_many: the verdicts of hv_vault_verify, in the order given,
 * for large and small sessions mixed; a path that is not a directory stops it
 * after the verdicts before it. */
typedef struct {
  GPtrArray *verdicts;
  GPtrArray *started;
} Many;

static void
many_start(const char *dir, gpointer user_data)
{
  g_ptr_array_add(((Many *) user_data)->started, g_strdup(dir));
}

static void
many_verdict(HvVerdict *v, gpointer user_data)
{
  g_ptr_array_add(((Many *) user_data)->verdicts, v);
}

static void
test_verify_many(Fixture *f, gconstpointer data)
{
  g_autoptr(GPtrArray) dirs = g_ptr_array_new_with_free_func(g_free);
  for (guint i = 0; i < 7; i++) {
    g_autofree char *name = g_strdup_printf("s%u", i);
    char *dir = fixture_session(f, name, i == 2 ? 9u << 20 : 20000 * (i + 1), i != 4);
    g_ptr_array_add(dirs, dir);
  }
  /* session 5: a payload byte changed */
  g_autofree char *p5 = g_build_filename(dirs->pdata[5], HV_FILE_RECORDS, NULL);
  g_autoptr(GBytes) b5 = read_all(dirs->pdata[5], HV_FILE_RECORDS);
  g_autofree guint8 *d5 = g_memdup2(g_bytes_get_data(b5, NULL), g_bytes_get_size(b5));
  d5[g_bytes_get_size(b5) - 100] ^= 1;
  g_assert_true(g_file_set_contents(p5, (const char *) d5, g_bytes_get_size(b5), NULL));

  for (guint round = 0; round < 2; round++) {
    HvVerifyOptions o = { .threads = round ? 0 : HV_VERIFY_ALL_CPUS };
    Many m = { g_ptr_array_new_with_free_func((GDestroyNotify) hv_verdict_free),
               g_ptr_array_new_with_free_func(g_free) };
    g_autoptr(GError) err = NULL;
    g_assert_true(hv_vault_verify_many((char **) dirs->pdata, dirs->len, &o, NULL, many_start, many_verdict,
                                       &m, &err));
    g_assert_no_error(err);
    g_assert_cmpuint(m.verdicts->len, ==, dirs->len);
    for (guint i = 0; i < dirs->len; i++) {
      HvVerdict *v = m.verdicts->pdata[i];
      g_autoptr(HvVerdict) want = verify_threads(dirs->pdata[i], 0);
      g_assert_cmpstr(v->dir, ==, dirs->pdata[i]);
      assert_same_verdict(v, want);
      g_assert_true(v->intact == (i != 4 && i != 5));
    }
    /* in parallel, only the large session is verified in the calling thread (with progress) */
    gboolean parallel = round == 0 && g_get_num_processors() > 1;
    g_assert_cmpuint(m.started->len, ==, parallel ? 1 : dirs->len);
    if (parallel)
      g_assert_cmpstr(m.started->pdata[0], ==, dirs->pdata[2]);
    g_ptr_array_unref(m.verdicts);
    g_ptr_array_unref(m.started);
  }

  /* a path that is not a directory: the verdicts before it, then its error */
  g_autofree char *file = g_build_filename(f->dir, "not-a-dir", NULL);
  g_assert_true(g_file_set_contents(file, "x", 1, NULL));
  char *some[] = { dirs->pdata[0], dirs->pdata[1], file, dirs->pdata[3] };
  HvVerifyOptions o = { .threads = HV_VERIFY_ALL_CPUS };
  Many m = { g_ptr_array_new_with_free_func((GDestroyNotify) hv_verdict_free),
             g_ptr_array_new_with_free_func(g_free) };
  g_autoptr(GError) err = NULL;
  g_assert_false(hv_vault_verify_many(some, G_N_ELEMENTS(some), &o, NULL, NULL, many_verdict, &m, &err));
  g_assert_error(err, HV_VAULT_ERROR, HV_VAULT_ERROR_IO);
  g_assert_cmpuint(m.verdicts->len, ==, 2);
  g_ptr_array_unref(m.verdicts);
  g_ptr_array_unref(m.started);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
#define ADD(path, fn) g_test_add(path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD("/vault-verify/resign-identity", test_resign_identity);
  ADD("/vault-verify/chunk-max", test_chunk_max);
  ADD("/vault-verify/chunk-max-exact", test_chunk_max_exact);
  ADD("/vault-verify/seal-times", test_seal_times);
  ADD("/vault-verify/zero-checkpoint", test_zero_checkpoint);
  ADD("/vault-verify/event-text-not-checked", test_event_text_not_checked);
  ADD("/vault-verify/events-streamed", test_events_streamed);
  ADD("/vault-verify/threads-same-verdict", test_threads_same_verdict);
  ADD("/vault-verify/verify-many", test_verify_many);
  return g_test_run();
}
