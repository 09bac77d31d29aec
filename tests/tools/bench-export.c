// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * hv-bench-export: where `haven export` spends its time, phase by phase, on
 * one session: each phase is run on its own with the code export uses, so
 * the differences between the runs give the cost of each step.
 *   verify   the verify pass alone (read, leaves on all cores, chain, signatures)
 *   decrypt  the same pass with every media record decrypted to /dev/null
 *   write    the same pass writing the MPEG-TS stream to a file, then fsync
 *   sha-ts   SHA-256 of that file (OpenSSL, as the report does)
 *   remux    MPEG-TS to MP4 (libavformat, as export does)
 *   sha-mp4  SHA-256 of the MP4
 * Prints "phase seconds" lines; asserts nothing.
 */
#include "sha256.h"
#include "ts-remux.h"
#include "vault/vault.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static double
now(void)
{
  return g_get_monotonic_time() / 1e6;
}

/* One verify pass, decrypting to out_fd when dec is not NULL. */
static double
pass(const char *session, HvDecryptor *dec)
{
  HvVerifyOptions vo = { .on_record = dec ? hv_decryptor_on_record : NULL, .user_data = dec,
                         .threads = HV_VERIFY_ALL_CPUS };
  double t0 = now();
  g_autoptr(GError) err = NULL;
  g_autoptr(HvVerdict) v = hv_vault_verify(session, &vo, &err);
  double t = now() - t0;
  if (!v || !v->intact) {
    g_printerr("hv-bench-export: %s: %s\n", session, v ? v->problem : err->message);
    exit(1);
  }
  return t;
}

static HvDecryptor *
decryptor(const char *session, const HvIdentity *id, int fd)
{
  HvHeader h;
  g_autoptr(GError) err = NULL;
  HvDecryptor *dec = NULL;
  if (!hv_vault_read_header(session, NULL, &h, &err) || !(dec = hv_decryptor_new(&h, id, fd, &err))) {
    g_printerr("hv-bench-export: %s\n", err->message);
    exit(1);
  }
  return dec;
}

int
main(int argc, char **argv)
{
  if (argc != 4) {
    g_printerr("usage: hv-bench-export SESSION IDENTITY.key OUTDIR\n");
    return 2;
  }
  if (sodium_init() < 0)
    return 2;
  const char *session = argv[1];
  g_autoptr(GError) err = NULL;
  g_autoptr(HvIdentity) id = hv_identity_load(argv[2], &err);
  if (!id) {
    g_printerr("hv-bench-export: %s\n", err->message);
    return 2;
  }
  g_autofree char *ts = g_build_filename(argv[3], "bench.ts", NULL);
  g_autofree char *mp4 = g_build_filename(argv[3], "bench.mp4", NULL);

  printf("verify %.3f\n", pass(session, NULL));
  int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
  g_autoptr(HvDecryptor) d1 = decryptor(session, id, null);
  printf("verify+decrypt %.3f\n", pass(session, d1));
  close(null);

  int fd = open(ts, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  g_autoptr(HvDecryptor) d2 = decryptor(session, id, fd);
  double t = pass(session, d2);
  double t0 = now();
  if (fsync(fd) != 0)
    return 1;
  printf("verify+decrypt+write %.3f\nfsync %.3f\n", t, now() - t0);
  close(fd);
  printf("bytes %" G_GUINT64_FORMAT "\n", hv_decryptor_plain_bytes(d2));

  t0 = now();
  g_autofree char *sum = hv_sha256_file(ts, &err);
  printf("sha-ts %.3f\n", now() - t0);
  t0 = now();
  gboolean ok = hv_ts_remux_to_mp4(ts, mp4, NULL, NULL, &err);
  printf("remux %.3f\n", now() - t0);
  if (!ok) {
    g_printerr("hv-bench-export: remux: %s\n", err->message);
    return 1;
  }
  t0 = now();
  g_autofree char *sum2 = hv_sha256_file(mp4, &err);
  printf("sha-mp4 %.3f\n", now() - t0);
  struct stat st;
  printf("mp4-bytes %lld\n", stat(mp4, &st) == 0 ? (long long) st.st_size : -1LL);
  return sum && sum2 ? 0 : 1;
}
