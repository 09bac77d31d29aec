// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * hv-bench-hash: libsodium's BLAKE2b (crypto_generichash, the hash of the
 * evidence format) over files, on one core, in pieces of the size verify
 * hashes (a record), from memory: what one core can give verify at most.
 * Prints the wall seconds and the bytes hashed; asserts nothing.
 */
#include <glib.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>

int
main(int argc, char **argv)
{
  if (argc < 3) {
    g_printerr("usage: hv-bench-hash PIECE_BYTES FILE...\n");
    return 2;
  }
  if (sodium_init() < 0)
    return 1;
  gsize piece = (gsize) g_ascii_strtoull(argv[1], NULL, 10);
  if (piece == 0) {
    g_printerr("hv-bench-hash: PIECE_BYTES must be a positive number\n");
    return 2;
  }
  guint64 total = 0;
  gint64 us = 0;
  guint8 out[32];
  for (int i = 2; i < argc; i++) {
    g_autofree char *data = NULL;
    gsize len = 0;
    g_autoptr(GError) err = NULL;
    if (!g_file_get_contents(argv[i], &data, &len, &err)) {
      g_printerr("hv-bench-hash: %s\n", err->message);
      return 1;
    }
    gint64 t0 = g_get_monotonic_time();   /* the hashing only: the file is in memory */
    for (gsize off = 0; off < len; off += piece)
      crypto_generichash(out, sizeof out, (const guint8 *) data + off, MIN(piece, len - off), NULL, 0);
    us += g_get_monotonic_time() - t0;
    total += len;
  }
  printf("%.3f %" G_GUINT64_FORMAT "\n", us / 1e6, total);
  return 0;
}
