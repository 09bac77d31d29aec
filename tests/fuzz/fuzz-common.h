/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Helpers shared by the libFuzzer targets: a scratch directory made once per
 * process, and writing an input to a file in it. */
#pragma once

#include <glib.h>
#include <glib/gstdio.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>


static char *fuzz_scratch;

static void
fuzz_scratch_remove(void)
{
  g_autoptr(GDir) d = g_dir_open(fuzz_scratch, 0, NULL);
  const char *n;
  while (d && (n = g_dir_read_name(d))) {
    g_autofree char *p = g_build_filename(fuzz_scratch, n, NULL);
    if (g_file_test(p, G_FILE_TEST_IS_DIR) && !g_file_test(p, G_FILE_TEST_IS_SYMLINK)) {
      g_autoptr(GDir) sub = g_dir_open(p, 0, NULL);
      const char *m;
      while (sub && (m = g_dir_read_name(sub))) {
        g_autofree char *q = g_build_filename(p, m, NULL);
        g_unlink(q);
      }
      g_rmdir(p);
    } else {
      g_unlink(p);
    }
  }
  g_rmdir(fuzz_scratch);
}

static inline const char *
fuzz_scratch_dir(void)
{
  if (!fuzz_scratch) {
    /* tmpfs when there is one: a disk file system makes the runs I/O bound */
    if (g_access("/dev/shm", W_OK) == 0) {
      fuzz_scratch = g_strdup("/dev/shm/haven-fuzz-XXXXXX");
      if (!g_mkdtemp(fuzz_scratch))
        g_clear_pointer(&fuzz_scratch, g_free);
    }
    if (!fuzz_scratch)
      fuzz_scratch = g_dir_make_tmp("haven-fuzz-XXXXXX", NULL);
    if (!fuzz_scratch)
      abort();
    atexit(fuzz_scratch_remove);
  }
  return fuzz_scratch;
}

/* Write data to path (created or truncated); aborts on failure: the harness,
 * not the code under test, is broken then. */
static inline void
fuzz_write_file(const char *path, const uint8_t *data, size_t size)
{
  /* a new file, not O_TRUNC: ext4 flushes a file truncated and rewritten */
  (void) g_unlink(path);
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    abort();
  while (size > 0) {
    ssize_t n = write(fd, data, size);
    if (n <= 0)
      abort();
    data += n;
    size -= (size_t) n;
  }
  close(fd);
}
