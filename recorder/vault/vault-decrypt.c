// SPDX-License-Identifier: GPL-2.0-or-later
#define G_LOG_DOMAIN "haven-vault"
#include "vault-decrypt.h"
#include "vault-file.h"

#include <string.h>

struct _HvDecryptor {
  crypto_secretstream_xchacha20poly1305_state *ss; /* sodium_malloc */
  guint8  *plain;                                  /* sodium_malloc */
  int      out_fd;
  gboolean final;
  guint64  plain_bytes;
  guint64  chunk;
  HvPlainFunc sink;
  gpointer sink_data;
};

void
hv_decryptor_free(HvDecryptor *d)
{
  if (!d)
    return;
  sodium_free(d->ss);
  sodium_free(d->plain);
  g_free(d);
}

HvDecryptor *
hv_decryptor_new(const HvHeader *h, const HvIdentity *id, int out_fd, GError **error)
{
  const HvStanza *mine = NULL;
  for (guint i = 0; i < h->n_recipients; i++)
    if (sodium_memcmp(h->recipients[i].recipient_pk, id->pk, HV_RECIPIENT_PK_SIZE) == 0)
      mine = &h->recipients[i];
  if (!mine) {
    g_autofree char *kid = hv_key_id(id->pk, HV_RECIPIENT_PK_SIZE);
    g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_KEY,
                "identity %s is not one of this session's %u recipients: wrong key file?", kid,
                h->n_recipients);
    return NULL;
  }
  guint8 *key = sodium_malloc(HV_SS_KEY_SIZE);
  if (crypto_box_seal_open(key, mine->sealed_key, HV_SEALED_KEY_SIZE, id->pk, id->sk) != 0) {
    sodium_free(key);
    g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_KEY,
                "the session key sealed to this identity does not open (stanza damaged)");
    return NULL;
  }
  guint8 commit[HV_HASH_SIZE];
  hv_key_commitment(key, h->session_id, h->ss_header, commit);
  if (sodium_memcmp(commit, h->key_commitment, HV_HASH_SIZE) != 0) {
    sodium_free(key);
    g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_COMMITMENT,
                "the unwrapped session key does not match the header's key commitment: "
                "recipients were given different keys");
    return NULL;
  }
  g_autoptr(HvDecryptor) d = g_new0(HvDecryptor, 1);
  d->ss = sodium_malloc(sizeof *d->ss);
  d->plain = sodium_malloc(HV_CHUNK_MAX);
  d->out_fd = out_fd;
  int r = crypto_secretstream_xchacha20poly1305_init_pull(d->ss, h->ss_header, key);
  sodium_free(key);
  if (r != 0) {
    g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_DECRYPT, "stream header is invalid");
    return NULL;
  }
  return g_steal_pointer(&d);
}

gboolean
hv_decryptor_on_record(const HvRecordHeader *rh, const guint8 *payload, gpointer user_data,
                       GError **error)
{
  HvDecryptor *d = user_data;
  if (rh->type != HV_RECORD_MEDIA)
    return TRUE;
  if (rh->length > HV_MEDIA_RECORD_MAX || rh->length < HV_SS_ABYTES) {
    g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_MALFORMED, "media chunk has a bad length");
    return FALSE;
  }
  unsigned long long mlen = 0;
  guint8 tag = 0;
  if (crypto_secretstream_xchacha20poly1305_pull(d->ss, d->plain, &mlen, &tag, payload, rh->length,
                                                 NULL, 0) != 0) {
    g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_DECRYPT,
                "media chunk %" G_GUINT64_FORMAT " fails authenticated decryption", d->chunk);
    return FALSE;
  }
  /* FORMAT.md §6: TAG_MESSAGE or TAG_REKEY (each group commit's last chunk;
   * pull follows the rekey itself) on every chunk but the FINAL one, which
   * carries TAG_FINAL; no other tag is ever written. */
  gboolean final = tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL;
  if (!final && tag != crypto_secretstream_xchacha20poly1305_TAG_MESSAGE &&
      tag != crypto_secretstream_xchacha20poly1305_TAG_REKEY) {
    g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_DECRYPT,
                "media chunk %" G_GUINT64_FORMAT ": stream tag %u is not one Haven writes",
                d->chunk, tag);
    return FALSE;
  }
  if (final != ((rh->flags & HV_RECORD_FLAG_FINAL) != 0) || d->final) {
    g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_DECRYPT,
                "media chunk %" G_GUINT64_FORMAT ": final tag inside the ciphertext disagrees with "
                "the record", d->chunk);
    return FALSE;
  }
  d->final = final;
  d->chunk++;
  int w = hv_write_all(d->out_fd, d->plain, (gsize) mlen);
  gboolean sunk = w < 0 || !d->sink || d->sink(d->plain, (gsize) mlen, d->sink_data, error);
  sodium_memzero(d->plain, (gsize) mlen);
  if (w < 0) {
    g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_IO, "writing the decrypted stream: %s",
                g_strerror(-w));
    return FALSE;
  }
  if (!sunk)
    return FALSE;
  d->plain_bytes += mlen;
  return TRUE;
}

void hv_decryptor_set_output(HvDecryptor *d, int out_fd) { d->out_fd = out_fd; }
void
hv_decryptor_set_sink(HvDecryptor *d, HvPlainFunc sink, gpointer user_data)
{
  d->sink = sink;
  d->sink_data = user_data;
}
gboolean hv_decryptor_saw_final(HvDecryptor *d) { return d->final; }
guint64 hv_decryptor_plain_bytes(HvDecryptor *d) { return d->plain_bytes; }
