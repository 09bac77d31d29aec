// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The record reader hands out the same records a plain sequential read
 * would, with each record's leaf, whatever the number of workers: records
 * cut by its 1 MiB blocks, files that end inside a header or a payload, a
 * header that does not decode, and both limits.
 */
#include "test-helpers.h"
#include "vault-reader.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static const guint8 SID[HV_SESSION_ID_SIZE] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };

/* A records file of n records: media of lengths that cross every block
 * boundary at a different place, with a few events between them. */
static GByteArray *
make_records(guint n)
{
  GByteArray *a = g_byte_array_new();
  GRand *rand = g_rand_new_with_seed(42);
  for (guint i = 0; i < n; i++) {
    gboolean event = i % 7 == 3;
    HvRecordHeader rh = { .type = event ? HV_EVENT_NOTE : HV_RECORD_MEDIA, .index = i,
                          .mono_us = i, .wall_us = i,
                          .length = event ? (i % 3 == 0 ? 0 : 100) : 17 + g_rand_int_range(rand, 0, 65537) };
    guint8 hdr[HV_RECORD_HEADER_SIZE];
    hv_record_header_encode(&rh, hdr);
    g_byte_array_append(a, hdr, sizeof hdr);
    guint old = a->len;
    g_byte_array_set_size(a, old + rh.length);
    for (guint k = 0; k < rh.length; k++)
      a->data[old + k] = (guint8) g_rand_int(rand);
  }
  g_rand_free(rand);
  return a;
}

static int
file_with(Fixture *f, const guint8 *data, gsize len)
{
  g_autofree char *p = g_build_filename(f->dir, "records.hvr", NULL);
  g_assert_true(g_file_set_contents(p, (const char *) data, len, NULL));
  int fd = open(p, O_RDONLY | O_CLOEXEC);
  g_assert_cmpint(fd, >=, 0);
  return fd;
}

/* Read everything with `threads` workers and compare each record with the
 * bytes at its offset in data and with hv_chain_leaf; returns the records
 * with a leaf, and the last record in *ret_last. */
static guint
read_all(const guint8 *data, int fd, guint64 max, guint64 stop_at, guint threads, HvRecordRead *ret_last,
         gsize *ret_offset)
{
  g_assert_cmpint(lseek(fd, 0, SEEK_SET), ==, 0);
  g_autoptr(HvRecordReader) r = hv_record_reader_new(fd, SID, max, stop_at, threads);
  g_assert_cmpuint(hv_record_reader_threads(r), ==, threads);
  guint n = 0;
  gsize off = 0;
  for (;;) {
    HvRecordRead rec;
    hv_record_reader_next(r, &rec);
    *ret_last = rec;
    if (!rec.have_leaf)
      break;
    g_assert_cmpmem(rec.header, HV_RECORD_HEADER_SIZE, data + off, HV_RECORD_HEADER_SIZE);
    g_assert_cmpuint(rec.payload_got, ==, hv_get_u32(data + off + 32));
    g_assert_true(rec.payload == rec.header + HV_RECORD_HEADER_SIZE);
    g_assert_cmpmem(rec.payload, rec.payload_got, data + off + HV_RECORD_HEADER_SIZE, rec.payload_got);
    guint8 leaf[HV_HASH_SIZE];
    hv_chain_leaf(SID, data + off, data + off + HV_RECORD_HEADER_SIZE, rec.payload_got, leaf);
    g_assert_cmpmem(rec.leaf, HV_HASH_SIZE, leaf, HV_HASH_SIZE);
    off += HV_RECORD_HEADER_SIZE + rec.payload_got;
    n++;
  }
  /* past the end it stays at the end */
  HvRecordRead again;
  hv_record_reader_next(r, &again);
  g_assert_cmpuint(again.header_got, ==, 0);
  g_assert_false(again.have_leaf);
  *ret_offset = off;
  return n;
}

static const guint THREADS[] = { 1, 2, 3, 8 };

static void
test_whole(Fixture *f, gconstpointer data)
{
  g_autoptr(GByteArray) a = make_records(200);   /* about 5.6 MiB: several blocks */
  g_assert_cmpuint(a->len, >, 4u << 20);
  int fd = file_with(f, a->data, a->len);
  for (guint t = 0; t < G_N_ELEMENTS(THREADS); t++) {
    HvRecordRead last;
    gsize off;
    g_assert_cmpuint(read_all(a->data, fd, G_MAXUINT64, G_MAXUINT64, THREADS[t], &last, &off), ==, 200);
    g_assert_cmpuint(off, ==, a->len);
    g_assert_cmpuint(last.header_got, ==, 0);   /* the file ends after the last record */
  }
  close(fd);
}

/* Cut the file at every interesting place of the record that crosses the
 * first block boundary, and inside the last record. */
static void
test_cut(Fixture *f, gconstpointer data)
{
  g_autoptr(GByteArray) a = make_records(60);
  gsize off = 0, before = 0;
  guint k = 0;
  while (off < (1u << 20)) {
    before = off;
    off += HV_RECORD_HEADER_SIZE + hv_get_u32(a->data + off + 32);
    k++;
  }
  /* record k - 1 starts at `before` and crosses the 1 MiB mark */
  gsize cuts[] = { before + 10, before + HV_RECORD_HEADER_SIZE, before + HV_RECORD_HEADER_SIZE + 5,
                   (1u << 20), a->len - 1 };
  for (guint c = 0; c < G_N_ELEMENTS(cuts); c++) {
    int fd = file_with(f, a->data, cuts[c]);
    for (guint t = 0; t < G_N_ELEMENTS(THREADS); t++) {
      HvRecordRead last;
      gsize end;
      guint n = read_all(a->data, fd, G_MAXUINT64, G_MAXUINT64, THREADS[t], &last, &end);
      gsize got = cuts[c] - end;
      g_assert_cmpuint(got, >, 0);
      g_assert_cmpuint(last.header_got, ==, MIN(got, HV_RECORD_HEADER_SIZE));
      g_assert_cmpuint(last.payload_got, ==, got - last.header_got);
      g_assert_cmpuint(n, ==, c == G_N_ELEMENTS(cuts) - 1 ? 59 : k - 1);
    }
    close(fd);
  }
}

/* A header that does not decode ends the records: its length is not trusted. */
static void
test_bad_header(Fixture *f, gconstpointer data)
{
  g_autoptr(GByteArray) a = make_records(80);
  gsize off = 0;
  for (guint i = 0; i < 40; i++)
    off += HV_RECORD_HEADER_SIZE + hv_get_u32(a->data + off + 32);
  a->data[off + 36] = 1;   /* reserved field */
  int fd = file_with(f, a->data, a->len);
  for (guint t = 0; t < G_N_ELEMENTS(THREADS); t++) {
    HvRecordRead last;
    gsize end;
    g_assert_cmpuint(read_all(a->data, fd, G_MAXUINT64, G_MAXUINT64, THREADS[t], &last, &end), ==, 40);
    g_assert_cmpuint(end, ==, off);
    g_assert_cmpuint(last.header_got, ==, HV_RECORD_HEADER_SIZE);
    g_assert_cmpuint(last.payload_got, ==, 0);
  }
  close(fd);
}

/* max_records (a sealed session's count) and stop_at (an unsealed one's size). */
static void
test_limits(Fixture *f, gconstpointer data)
{
  g_autoptr(GByteArray) a = make_records(100);
  int fd = file_with(f, a->data, a->len);
  gsize off = 0;
  for (guint i = 0; i < 57; i++)
    off += HV_RECORD_HEADER_SIZE + hv_get_u32(a->data + off + 32);
  for (guint t = 0; t < G_N_ELEMENTS(THREADS); t++) {
    HvRecordRead last;
    gsize end;
    g_assert_cmpuint(read_all(a->data, fd, 57, G_MAXUINT64, THREADS[t], &last, &end), ==, 57);
    g_assert_cmpuint(last.header_got, ==, 0);
    g_assert_cmpuint(end, ==, off);
    /* stop at the first record starting at or after the given byte */
    g_assert_cmpuint(read_all(a->data, fd, G_MAXUINT64, off - 1, THREADS[t], &last, &end), ==, 57);
    g_assert_cmpuint(read_all(a->data, fd, G_MAXUINT64, off, THREADS[t], &last, &end), ==, 57);
    g_assert_cmpuint(read_all(a->data, fd, G_MAXUINT64, off + 1, THREADS[t], &last, &end), ==, 58);
    g_assert_cmpuint(read_all(a->data, fd, 0, G_MAXUINT64, THREADS[t], &last, &end), ==, 0);
  }
  close(fd);
}

/* An empty file: the first record's header is cut short at 0 bytes. */
static void
test_empty(Fixture *f, gconstpointer data)
{
  int fd = file_with(f, (const guint8 *) "", 0);
  for (guint t = 0; t < G_N_ELEMENTS(THREADS); t++) {
    HvRecordRead last;
    gsize end;
    g_assert_cmpuint(read_all(NULL, fd, G_MAXUINT64, G_MAXUINT64, THREADS[t], &last, &end), ==, 0);
    g_assert_cmpuint(last.header_got, ==, 0);
  }
  close(fd);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
#define ADD(path, fn) g_test_add(path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD("/vault-reader/whole", test_whole);
  ADD("/vault-reader/cut", test_cut);
  ADD("/vault-reader/bad-header", test_bad_header);
  ADD("/vault-reader/limits", test_limits);
  ADD("/vault-reader/empty", test_empty);
  return g_test_run();
}
