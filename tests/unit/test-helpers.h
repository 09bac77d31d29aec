/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Fixtures shared by the vault unit tests: a temp dir with keys. */
#pragma once

#include "vault/vault.h"

#include <glib/gstdio.h>

typedef struct {
  char        *dir;
  HvDeviceKey *device;
  HvIdentity  *identity;
  guint8       recipient[HV_RECIPIENT_PK_SIZE];
} Fixture;

/* The bytes of dir/name, or NULL when it cannot be read (owned by the caller). */
static inline GBytes *
read_session_file(const char *dir, const char *name)
{
  g_autofree char *p = g_build_filename(dir, name, NULL);
  char *data = NULL;
  gsize len = 0;
  if (!g_file_get_contents(p, &data, &len, NULL))
    return NULL;
  return g_bytes_new_take(data, len);
}

static inline void
rm_tree(const char *path)
{
  if (g_file_test(path, G_FILE_TEST_IS_DIR) && !g_file_test(path, G_FILE_TEST_IS_SYMLINK)) {
    g_autoptr(GDir) d = g_dir_open(path, 0, NULL);
    const char *n;
    while (d && (n = g_dir_read_name(d))) {
      g_autofree char *c = g_build_filename(path, n, NULL);
      rm_tree(c);
    }
    g_rmdir(path);
  } else {
    g_unlink(path);
  }
}

static inline void
fixture_setup(Fixture *f, gconstpointer data)
{
  g_assert_cmpint(sodium_init(), >=, 0);
  f->dir = g_dir_make_tmp("haven-unit-XXXXXX", NULL);
  g_autofree char *dk = g_build_filename(f->dir, "device.key", NULL);
  g_autofree char *prefix = g_build_filename(f->dir, "cust", NULL);
  g_autofree char *pub = NULL, *key = NULL;
  f->device = hv_device_key_generate(dk, NULL);
  g_assert_nonnull(f->device);
  g_assert_true(hv_custodian_keygen(prefix, &pub, &key, NULL));
  g_assert_true(hv_recipient_load(pub, f->recipient, NULL));
  f->identity = hv_identity_load(key, NULL);
  g_assert_nonnull(f->identity);
}

static inline void
fixture_teardown(Fixture *f, gconstpointer data)
{
  rm_tree(f->dir);
  g_free(f->dir);
  hv_device_key_free(f->device);
  hv_identity_free(f->identity);
}

/* Write a session of n_bytes pseudo-random media with a start and stop event. */
static inline char *
fixture_session(Fixture *f, const char *name, gsize n_bytes, gboolean seal)
{
  char *dir = g_build_filename(f->dir, name, NULL);
  const char *dirs[] = { dir, NULL };
  HvWriterParams p = { .room = "Room 1", .device_seq = 1, .device_key = f->device,
                       .recipients = f->recipient, .n_recipients = 1 };
  g_autoptr(GError) err = NULL;
  g_autoptr(HvVaultWriter) w = hv_vault_writer_new(dirs, &p, &err);
  g_assert_no_error(err);
  g_assert_true(hv_vault_writer_append_event(w, HV_EVENT_START, "start", &err));
  guint8 buf[10000];
  for (gsize done = 0; done < n_bytes; done += sizeof buf) {
    randombytes_buf(buf, sizeof buf);
    g_assert_true(hv_vault_writer_append_media(w, buf, MIN(sizeof buf, n_bytes - done), &err));
    if (done % 100000 == 0)
      g_assert_true(hv_vault_writer_commit(w, &err));
  }
  if (seal) {
    g_assert_true(hv_vault_writer_append_event(w, HV_EVENT_STOP, "stop", &err));
    g_assert_true(hv_vault_writer_finish(w, HV_STATUS_COMPLETE, "done", &err));
  } else {
    g_assert_true(hv_vault_writer_commit(w, &err));
  }
  g_assert_no_error(err);
  return dir;
}
