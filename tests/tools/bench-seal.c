// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * hv-bench-seal: seal throughput of the vault writer on one core (encrypt +
 * hash + write, fsync off), with a plain write() of the same bytes measured
 * side by side in the same run. Prints what it measured.
 */
#include "vault/vault.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

static double
cpu_seconds(void)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

int
main(int argc, char **argv)
{
  if (argc < 3) {
    g_printerr("usage: hv-bench-seal DIR MIB [SESSION_NAME [RECIPIENT.pub]]\n");
    return 2;
  }
  if (sodium_init() < 0)
    return 2;
  const char *dir = argv[1];
  guint64 mib = g_ascii_strtoull(argv[2], NULL, 10);
  const char *name = argc > 3 ? argv[3] : "bench-session";
  g_autofree char *keyp = g_build_filename(dir, "bench-device.key", NULL);
  g_autoptr(GError) err = NULL;
  g_autoptr(HvDeviceKey) key = g_file_test(keyp, G_FILE_TEST_EXISTS) ? hv_device_key_load(keyp, &err)
                                                                      : hv_device_key_generate(keyp, &err);
  if (!key) {
    g_printerr("%s\n", err->message);
    return 1;
  }
  guint8 rpk[32], rsk[32];
  crypto_box_keypair(rpk, rsk);
  if (argc > 4 && !hv_recipient_load(argv[4], rpk, &err)) {
    g_printerr("%s\n", err->message);
    return 1;
  }
  gsize block = 188 * 7 * 16; /* appsink delivers MPEG-TS in multiples of 1316 bytes */
  g_autofree guint8 *buf = g_malloc(block);
  randombytes_buf(buf, block);
  guint64 total = mib << 20;

  /* 1. plain write of the same amount (page cache), the floor */
  g_autofree char *plain = g_build_filename(dir, "bench-plain.bin", NULL);
  int fd = open(plain, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  double c0 = cpu_seconds();
  gint64 t0 = g_get_monotonic_time();
  for (guint64 done = 0; done < total; done += block)
    if (write(fd, buf, block) != (ssize_t) block)
      return 1;
  close(fd);
  double plain_wall = (g_get_monotonic_time() - t0) / 1e6, plain_cpu = cpu_seconds() - c0;
  g_unlink(plain);

  /* 2. the vault writer, group commit every 3 MiB (about one second at the default bitrate) */
  g_autofree char *sdir = g_build_filename(dir, name, NULL);
  const char *dirs[] = { sdir, NULL };
  HvWriterParams p = { .room = "bench", .device_seq = 1, .device_key = key, .recipients = rpk,
                       .n_recipients = 1, .no_sync = TRUE };
  c0 = cpu_seconds();
  t0 = g_get_monotonic_time();
  g_autoptr(HvVaultWriter) w = hv_vault_writer_new(dirs, &p, &err);
  guint64 since = 0;
  for (guint64 done = 0; w && done < total; done += block) {
    if (!hv_vault_writer_append_media(w, buf, block, &err))
      break;
    if ((since += block) >= (3u << 20)) {
      since = 0;
      if (!hv_vault_writer_commit(w, &err))
        break;
    }
  }
  if (!w || err || !hv_vault_writer_finish(w, HV_STATUS_COMPLETE, "benchmark", &err)) {
    g_printerr("%s\n", err->message);
    return 1;
  }
  double seal_wall = (g_get_monotonic_time() - t0) / 1e6, seal_cpu = cpu_seconds() - c0;
  printf("bytes:                %" G_GUINT64_FORMAT " MiB\n", mib);
  printf("plain write:          %.0f MB/s wall, %.2f s CPU\n", total / plain_wall / 1e6, plain_cpu);
  printf("seal (one thread):    %.0f MB/s wall, %.0f MB/s per CPU second\n", total / seal_wall / 1e6,
         total / seal_cpu / 1e6);
  printf("session:              %s\n", sdir);
  return 0;
}
