// SPDX-License-Identifier: GPL-2.0-or-later
/* tools/sha256: FIPS 180-2 vectors, and files (empty, one byte, several
 * read buffers and a bit) against GLib's independent SHA-256. */
#include "sha256.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void
test_vectors(void)
{
  g_autofree char *abc = hv_sha256_hex("abc", 3);
  g_assert_cmpstr(abc, ==, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  g_autofree char *empty = hv_sha256_hex("", 0);
  g_assert_cmpstr(empty, ==, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  g_autofree char *t = hv_sha256_hex(two, strlen(two));
  g_assert_cmpstr(t, ==, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void
test_files(void)
{
  g_autofree char *dir = g_dir_make_tmp("haven-sha256-XXXXXX", NULL);
  g_autofree char *path = g_build_filename(dir, "f", NULL);
  gsize sizes[] = { 0, 1, (1u << 20) - 1, 1u << 20, (3u << 20) + 12345 };
  g_autofree guint8 *data = g_malloc(sizes[G_N_ELEMENTS(sizes) - 1]);
  for (gsize i = 0; i < sizes[G_N_ELEMENTS(sizes) - 1]; i++)
    data[i] = (guint8) (i * 2654435761u >> 13);
  for (guint k = 0; k < G_N_ELEMENTS(sizes); k++) {
    g_assert_true(g_file_set_contents(path, (const char *) data, sizes[k], NULL));
    g_autoptr(GError) err = NULL;
    g_autofree char *got = hv_sha256_file(path, &err);
    g_assert_no_error(err);
    g_autofree char *want = g_compute_checksum_for_data(G_CHECKSUM_SHA256, data, sizes[k]);
    g_assert_cmpstr(got, ==, want);
  }
  g_unlink(path);
  g_autoptr(GError) err = NULL;
  g_assert_null(hv_sha256_file(path, &err));
  g_assert_error(err, G_FILE_ERROR, G_FILE_ERROR_NOENT);
  g_rmdir(dir);
}

/* A FIFO (or a device) is refused, not read until it ends: reading an empty
 * FIFO with no writer would block here (and a report's hash would be wrong). */
static void
test_not_regular(void)
{
  g_autofree char *dir = g_dir_make_tmp("haven-sha256-XXXXXX", NULL);
  g_autofree char *fifo = g_build_filename(dir, "fifo", NULL);
  g_assert_cmpint(mkfifo(fifo, 0600), ==, 0);
  /* a writer that never writes: without the check, open succeeds and read blocks */
  int w = open(fifo, O_RDWR | O_NONBLOCK);
  g_assert_cmpint(w, >=, 0);
  g_autoptr(GError) err = NULL;
  g_assert_null(hv_sha256_file(fifo, &err));
  g_assert_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL);
  g_assert_nonnull(strstr(err->message, "not a regular file"));
  close(w);
  g_clear_error(&err);
  /* no writer at all: open itself must not wait for one */
  g_assert_null(hv_sha256_file(fifo, &err));
  g_assert_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL);
  g_unlink(fifo);
  g_clear_error(&err);
  g_assert_null(hv_sha256_file(dir, &err));
  g_assert_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL);
  g_rmdir(dir);
}

/* The incremental form, fed in pieces of every size, gives the one-shot hash. */
static void
test_incremental(void)
{
  guint8 data[100000];
  for (gsize i = 0; i < sizeof data; i++)
    data[i] = (guint8) (i * 31 + 7);
  g_autofree char *want = g_compute_checksum_for_data(G_CHECKSUM_SHA256, data, sizeof data);
  g_autoptr(HvSha256) s = hv_sha256_new();
  gsize off = 0;
  for (gsize step = 0; off < sizeof data; step++) {
    gsize n = MIN(step * 7 % 4099, sizeof data - off);
    hv_sha256_update(s, data + off, n);
    off += n;
  }
  g_autofree char *got = hv_sha256_finish(s);
  g_assert_cmpstr(got, ==, want);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/sha256/vectors", test_vectors);
  g_test_add_func("/sha256/files", test_files);
  g_test_add_func("/sha256/incremental", test_incremental);
  g_test_add_func("/sha256/not-regular", test_not_regular);
  return g_test_run();
}
