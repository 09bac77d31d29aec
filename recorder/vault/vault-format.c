// SPDX-License-Identifier: GPL-2.0-or-later
#define G_LOG_DOMAIN "haven-vault"
#include "vault-format.h"

#include <string.h>

static const char MAGIC_HEADER[8] = { 'H', 'A', 'V', 'E', 'N', '-', 'H', '1' };
static const char MAGIC_SEAL[8]   = { 'H', 'A', 'V', 'E', 'N', '-', 'S', '1' };
static const char MAGIC_RECORD[4] = { 'H', 'V', 'R', 'C' };
static const char MAGIC_CHECKPOINT[4] = { 'H', 'V', 'C', 'P' };

/* Domain strings: each is hashed or signed including its terminating NUL. */
static const char DOMAIN_HEADER[]     = "HAVEN-HEADER-v1";
static const char DOMAIN_CHECKPOINT[] = "HAVEN-CHECKPOINT-v1";
static const char DOMAIN_SEAL[]       = "HAVEN-SEAL-v1";
static const char DOMAIN_LEAF[]       = "HAVEN-LEAF-v1";
static const char DOMAIN_CHAIN[]      = "HAVEN-CHAIN-v1";
static const char DOMAIN_CHAIN_INIT[] = "HAVEN-CHAIN-INIT-v1";
static const char DOMAIN_COMMIT[]     = "HAVEN-KEY-COMMIT-v1";

G_DEFINE_QUARK(hv-vault-error-quark, hv_vault_error)

void hv_put_u16(guint8 *p, guint16 v) { v = GUINT16_TO_LE(v); memcpy(p, &v, 2); }
void hv_put_u32(guint8 *p, guint32 v) { v = GUINT32_TO_LE(v); memcpy(p, &v, 4); }
void hv_put_u64(guint8 *p, guint64 v) { v = GUINT64_TO_LE(v); memcpy(p, &v, 8); }
guint16 hv_get_u16(const guint8 *p) { guint16 v; memcpy(&v, p, 2); return GUINT16_FROM_LE(v); }
guint32 hv_get_u32(const guint8 *p) { guint32 v; memcpy(&v, p, 4); return GUINT32_FROM_LE(v); }
guint64 hv_get_u64(const guint8 *p) { guint64 v; memcpy(&v, p, 8); return GUINT64_FROM_LE(v); }

const char *
hv_record_type_name(guint16 type)
{
  switch (type) {
  case HV_RECORD_MEDIA:        return "media";
  case HV_EVENT_START:         return "start";
  case HV_EVENT_STOP:          return "stop";
  case HV_EVENT_MARKER:        return "marker";
  case HV_EVENT_FAULT:         return "fault";
  case HV_EVENT_SOURCE_LOST:   return "source-lost";
  case HV_EVENT_SOURCE_BACK:   return "source-back";
  case HV_EVENT_MIC_SILENT:    return "mic-silent";
  case HV_EVENT_MIC_BACK:      return "mic-back";
  case HV_EVENT_CLOCK_STEP:    return "clock-step";
  case HV_EVENT_STORAGE_FAULT: return "storage-fault";
  case HV_EVENT_RECOVERY:      return "recovery";
  case HV_EVENT_NOTE:          return "note";
  default:                     return NULL;
  }
}

gboolean
hv_record_type_is_event(guint16 type)
{
  return type != HV_RECORD_MEDIA && hv_record_type_name(type) != NULL;
}

const char *
hv_status_name(guint8 status)
{
  switch (status) {
  case HV_STATUS_COMPLETE:    return "COMPLETE";
  case HV_STATUS_INTERRUPTED: return "INTERRUPTED";
  case HV_STATUS_IO_FAILED:   return "IO_FAILED";
  default:                    return NULL;
  }
}

/* ---- signatures over (domain || NUL || [prefix] || message) ---- */

static void
domain_sign(const char *domain, const guint8 *prefix, gsize prefix_len,
            const guint8 *msg, gsize len, const guint8 *sk, guint8 sig[HV_SIG_SIZE])
{
  gsize dlen = strlen(domain) + 1;
  g_autofree guint8 *buf = g_malloc(dlen + prefix_len + len);
  memcpy(buf, domain, dlen);
  if (prefix_len)
    memcpy(buf + dlen, prefix, prefix_len);
  memcpy(buf + dlen + prefix_len, msg, len);
  crypto_sign_detached(sig, NULL, buf, dlen + prefix_len + len, sk);
}

static gboolean
domain_verify(const char *domain, const guint8 *prefix, gsize prefix_len,
              const guint8 *msg, gsize len, const guint8 *pk, const guint8 sig[HV_SIG_SIZE])
{
  gsize dlen = strlen(domain) + 1;
  g_autofree guint8 *buf = g_malloc(dlen + prefix_len + len);
  memcpy(buf, domain, dlen);
  if (prefix_len)
    memcpy(buf + dlen, prefix, prefix_len);
  memcpy(buf + dlen + prefix_len, msg, len);
  return crypto_sign_verify_detached(sig, buf, dlen + prefix_len + len, pk) == 0;
}

/* ---- header ---- */

GBytes *
hv_header_encode(const HvHeader *hdr)
{
  gsize room_len = strlen(hdr->room);
  gsize len = HV_HEADER_FIXED_SIZE + room_len + hdr->n_recipients * (2 + HV_STANZA_BODY_SIZE) +
              HV_SIG_SIZE;
  guint8 *b = g_malloc0(len);

  g_return_val_if_fail(room_len <= HV_ROOM_MAX && hdr->n_recipients <= HV_RECIPIENTS_MAX, NULL);
  memcpy(b, MAGIC_HEADER, 8);
  hv_put_u16(b + 8, HV_FORMAT_VERSION);
  hv_put_u16(b + 10, 0);
  hv_put_u32(b + 12, (guint32) len);
  memcpy(b + 16, hdr->session_id, HV_SESSION_ID_SIZE);
  memcpy(b + 32, hdr->device_pk, HV_DEVICE_PK_SIZE);
  hv_put_u64(b + 64, hdr->device_seq);
  memcpy(b + 72, hdr->prev_seal_hash, HV_HASH_SIZE);
  hv_put_u64(b + 104, (guint64) hdr->created_wall_us);
  hv_put_u64(b + 112, hdr->created_mono_us);
  hv_put_u32(b + 120, hdr->chunk_max);
  hv_put_u16(b + 124, (guint16) room_len);
  hv_put_u16(b + 126, (guint16) hdr->n_recipients);
  memcpy(b + 128, hdr->ss_header, HV_SS_HEADER_SIZE);
  memcpy(b + 152, hdr->key_commitment, HV_HASH_SIZE);
  gsize off = HV_HEADER_FIXED_SIZE;
  memcpy(b + off, hdr->room, room_len);
  off += room_len;
  for (guint i = 0; i < hdr->n_recipients; i++) {
    hv_put_u16(b + off, HV_STANZA_BODY_SIZE);
    memcpy(b + off + 2, hdr->recipients[i].recipient_pk, HV_RECIPIENT_PK_SIZE);
    memcpy(b + off + 2 + HV_RECIPIENT_PK_SIZE, hdr->recipients[i].sealed_key, HV_SEALED_KEY_SIZE);
    off += 2 + HV_STANZA_BODY_SIZE;
  }
  memcpy(b + off, hdr->signature, HV_SIG_SIZE);
  return g_bytes_new_take(b, len);
}

gboolean
hv_header_decode(const guint8 *b, gsize len, HvHeader *ret_hdr, GError **error)
{
  HvHeader h = { 0 };

  if (len < HV_HEADER_FIXED_SIZE + HV_SIG_SIZE) {
    g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_TRUNCATED,
                "header is %zu bytes, shorter than the minimum %u", len,
                HV_HEADER_FIXED_SIZE + HV_SIG_SIZE);
    return FALSE;
  }
  if (memcmp(b, MAGIC_HEADER, 8) != 0) {
    g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_MALFORMED, "header magic is wrong");
    return FALSE;
  }
  h.version = hv_get_u16(b + 8);
  if (h.version != HV_FORMAT_VERSION || hv_get_u16(b + 10) != 0) {
    g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_MALFORMED,
                "header version %u (flags %u) is not supported", h.version, hv_get_u16(b + 10));
    return FALSE;
  }
  guint32 declared = hv_get_u32(b + 12);
  if (declared != len) {
    g_set_error(error, HV_VAULT_ERROR,
                declared > len ? HV_VAULT_ERROR_TRUNCATED : HV_VAULT_ERROR_MALFORMED,
                "header declares %u bytes but the file has %zu", declared, len);
    return FALSE;
  }
  memcpy(h.session_id, b + 16, HV_SESSION_ID_SIZE);
  memcpy(h.device_pk, b + 32, HV_DEVICE_PK_SIZE);
  h.device_seq = hv_get_u64(b + 64);
  memcpy(h.prev_seal_hash, b + 72, HV_HASH_SIZE);
  h.created_wall_us = (gint64) hv_get_u64(b + 104);
  h.created_mono_us = hv_get_u64(b + 112);
  h.chunk_max = hv_get_u32(b + 120);
  guint16 room_len = hv_get_u16(b + 124);
  guint16 n = hv_get_u16(b + 126);
  memcpy(h.ss_header, b + 128, HV_SS_HEADER_SIZE);
  memcpy(h.key_commitment, b + 152, HV_HASH_SIZE);

  if (h.device_seq == 0 || h.chunk_max == 0 || h.chunk_max > HV_CHUNK_MAX) {
    g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_MALFORMED,
                "header has device sequence %" G_GUINT64_FORMAT " and chunk size %u "
                "(sequence must be >= 1, chunk size 1..%u)", h.device_seq, h.chunk_max, HV_CHUNK_MAX);
    return FALSE;
  }
  if (room_len > HV_ROOM_MAX) {
    g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_MALFORMED,
                "header room name is %u bytes (maximum %u)", room_len, HV_ROOM_MAX);
    return FALSE;
  }
  if (n == 0 || n > HV_RECIPIENTS_MAX) {
    g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_MALFORMED,
                "header has %u recipients (must be 1..%u)", n, HV_RECIPIENTS_MAX);
    return FALSE;
  }
  gsize off = HV_HEADER_FIXED_SIZE;
  if (off + room_len + HV_SIG_SIZE > len) {
    g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_TRUNCATED, "header ends inside the room name");
    return FALSE;
  }
  memcpy(h.room, b + off, room_len);
  h.room[room_len] = '\0';
  if (memchr(h.room, '\0', room_len) || !g_utf8_validate(h.room, room_len, NULL)) {
    g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_MALFORMED, "header room name is not valid UTF-8");
    return FALSE;
  }
  off += room_len;
  for (guint i = 0; i < n; i++) {
    if (off + 2 > len - HV_SIG_SIZE) {
      g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_TRUNCATED,
                  "header ends before recipient stanza %u of %u", i + 1, n);
      return FALSE;
    }
    guint16 slen = hv_get_u16(b + off);
    if (slen != HV_STANZA_BODY_SIZE) {
      g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_MALFORMED,
                  "recipient stanza %u has length %u, expected %u", i + 1, slen, HV_STANZA_BODY_SIZE);
      return FALSE;
    }
    if (off + 2 + slen > len - HV_SIG_SIZE) {
      g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_TRUNCATED,
                  "header ends inside recipient stanza %u", i + 1);
      return FALSE;
    }
    memcpy(h.recipients[i].recipient_pk, b + off + 2, HV_RECIPIENT_PK_SIZE);
    memcpy(h.recipients[i].sealed_key, b + off + 2 + HV_RECIPIENT_PK_SIZE, HV_SEALED_KEY_SIZE);
    off += 2 + slen;
  }
  h.n_recipients = n;
  if (off + HV_SIG_SIZE != len) {
    g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_MALFORMED,
                "header has %zu unexpected bytes after the recipient stanzas",
                len - HV_SIG_SIZE - off);
    return FALSE;
  }
  memcpy(h.signature, b + off, HV_SIG_SIZE);
  *ret_hdr = h;
  return TRUE;
}

void
hv_header_sign(guint8 *encoded, gsize len, const guint8 *device_sk)
{
  domain_sign(DOMAIN_HEADER, NULL, 0, encoded, len - HV_SIG_SIZE, device_sk,
              encoded + len - HV_SIG_SIZE);
}

gboolean
hv_header_verify_signature(const guint8 *encoded, gsize len, const guint8 *device_pk)
{
  return domain_verify(DOMAIN_HEADER, NULL, 0, encoded, len - HV_SIG_SIZE, device_pk,
                       encoded + len - HV_SIG_SIZE);
}

/* ---- records ---- */

void
hv_record_header_encode(const HvRecordHeader *rh, guint8 out[HV_RECORD_HEADER_SIZE])
{
  memcpy(out, MAGIC_RECORD, 4);
  hv_put_u16(out + 4, rh->type);
  hv_put_u16(out + 6, rh->flags);
  hv_put_u64(out + 8, rh->index);
  hv_put_u64(out + 16, rh->mono_us);
  hv_put_u64(out + 24, (guint64) rh->wall_us);
  hv_put_u32(out + 32, rh->length);
  hv_put_u32(out + 36, 0);
}

gboolean
hv_record_header_decode(const guint8 in[HV_RECORD_HEADER_SIZE], HvRecordHeader *ret_rh, GError **error)
{
  HvRecordHeader rh;

  if (memcmp(in, MAGIC_RECORD, 4) != 0) {
    g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_MALFORMED, "record magic is wrong");
    return FALSE;
  }
  rh.type = hv_get_u16(in + 4);
  rh.flags = hv_get_u16(in + 6);
  rh.index = hv_get_u64(in + 8);
  rh.mono_us = hv_get_u64(in + 16);
  rh.wall_us = (gint64) hv_get_u64(in + 24);
  rh.length = hv_get_u32(in + 32);
  if (hv_get_u32(in + 36) != 0) {
    g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_MALFORMED, "record reserved field is not zero");
    return FALSE;
  }
  if (hv_record_type_name(rh.type) == NULL) {
    g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_MALFORMED, "record type %u is unknown", rh.type);
    return FALSE;
  }
  gboolean media = rh.type == HV_RECORD_MEDIA;
  if ((rh.flags & ~HV_RECORD_FLAG_FINAL) != 0 || (!media && rh.flags != 0)) {
    g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_MALFORMED,
                "record flags 0x%04x are not valid for a %s record", rh.flags,
                hv_record_type_name(rh.type));
    return FALSE;
  }
  if (media ? (rh.length < HV_SS_ABYTES || rh.length > HV_MEDIA_RECORD_MAX)
            : rh.length > HV_EVENT_MAX) {
    g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_MALFORMED,
                "record length %u is out of range for a %s record", rh.length,
                hv_record_type_name(rh.type));
    return FALSE;
  }
  *ret_rh = rh;
  return TRUE;
}

/* ---- checkpoints ---- */

void
hv_checkpoint_encode(const HvCheckpoint *cp, guint8 out[HV_CHECKPOINT_SIZE])
{
  memcpy(out, MAGIC_CHECKPOINT, 4);
  hv_put_u32(out + 4, 0);
  hv_put_u64(out + 8, cp->count);
  hv_put_u64(out + 16, cp->data_end);
  hv_put_u64(out + 24, cp->mono_us);
  hv_put_u64(out + 32, (guint64) cp->wall_us);
  memcpy(out + 40, cp->head, HV_HASH_SIZE);
  memcpy(out + 72, cp->signature, HV_SIG_SIZE);
}

gboolean
hv_checkpoint_decode(const guint8 in[HV_CHECKPOINT_SIZE], HvCheckpoint *ret_cp, GError **error)
{
  if (memcmp(in, MAGIC_CHECKPOINT, 4) != 0 || hv_get_u32(in + 4) != 0) {
    g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_MALFORMED, "checkpoint magic is wrong");
    return FALSE;
  }
  ret_cp->count = hv_get_u64(in + 8);
  ret_cp->data_end = hv_get_u64(in + 16);
  ret_cp->mono_us = hv_get_u64(in + 24);
  ret_cp->wall_us = (gint64) hv_get_u64(in + 32);
  memcpy(ret_cp->head, in + 40, HV_HASH_SIZE);
  memcpy(ret_cp->signature, in + 72, HV_SIG_SIZE);
  return TRUE;
}

void
hv_checkpoint_sign(guint8 encoded[HV_CHECKPOINT_SIZE], const guint8 *session_id, const guint8 *device_sk)
{
  domain_sign(DOMAIN_CHECKPOINT, session_id, HV_SESSION_ID_SIZE, encoded, 72, device_sk, encoded + 72);
}

gboolean
hv_checkpoint_verify_signature(const guint8 encoded[HV_CHECKPOINT_SIZE], const guint8 *session_id,
                               const guint8 *device_pk)
{
  return domain_verify(DOMAIN_CHECKPOINT, session_id, HV_SESSION_ID_SIZE, encoded, 72, device_pk,
                       encoded + 72);
}

/* ---- seal ---- */

GBytes *
hv_seal_encode(const HvSeal *s)
{
  gsize reason_len = strlen(s->reason);
  g_return_val_if_fail(reason_len <= HV_REASON_MAX, NULL);
  gsize len = HV_SEAL_FIXED_SIZE + reason_len + HV_SIG_SIZE;
  guint8 *b = g_malloc0(len);

  memcpy(b, MAGIC_SEAL, 8);
  hv_put_u16(b + 8, HV_FORMAT_VERSION);
  b[10] = s->status;
  b[11] = 0;
  hv_put_u32(b + 12, (guint32) len);
  memcpy(b + 16, s->session_id, HV_SESSION_ID_SIZE);
  memcpy(b + 32, s->header_hash, HV_HASH_SIZE);
  hv_put_u64(b + 64, s->device_seq);
  hv_put_u64(b + 72, s->record_count);
  hv_put_u64(b + 80, s->media_count);
  hv_put_u64(b + 88, s->marker_count);
  hv_put_u64(b + 96, s->data_end);
  memcpy(b + 104, s->head, HV_HASH_SIZE);
  hv_put_u64(b + 136, (guint64) s->start_wall_us);
  hv_put_u64(b + 144, (guint64) s->end_wall_us);
  hv_put_u64(b + 152, s->end_mono_us);
  hv_put_u64(b + 160, (guint64) s->sealed_wall_us);
  hv_put_u64(b + 168, s->checkpoint_count);
  memcpy(b + 176, s->index_hash, HV_HASH_SIZE);
  hv_put_u16(b + 208, (guint16) reason_len);
  hv_put_u16(b + 210, 0);
  memcpy(b + HV_SEAL_FIXED_SIZE, s->reason, reason_len);
  memcpy(b + HV_SEAL_FIXED_SIZE + reason_len, s->signature, HV_SIG_SIZE);
  return g_bytes_new_take(b, len);
}

gboolean
hv_seal_decode(const guint8 *b, gsize len, HvSeal *ret_seal, GError **error)
{
  HvSeal s = { 0 };

  if (len < HV_SEAL_FIXED_SIZE + HV_SIG_SIZE) {
    g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_TRUNCATED,
                "seal is %zu bytes, shorter than the minimum %u", len, HV_SEAL_FIXED_SIZE + HV_SIG_SIZE);
    return FALSE;
  }
  if (memcmp(b, MAGIC_SEAL, 8) != 0) {
    g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_MALFORMED, "seal magic is wrong");
    return FALSE;
  }
  s.version = hv_get_u16(b + 8);
  s.status = b[10];
  if (s.version != HV_FORMAT_VERSION || b[11] != 0 || hv_get_u16(b + 210) != 0) {
    g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_MALFORMED, "seal version %u is not supported",
                s.version);
    return FALSE;
  }
  if (hv_status_name(s.status) == NULL) {
    g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_MALFORMED, "seal status %u is unknown", s.status);
    return FALSE;
  }
  guint32 declared = hv_get_u32(b + 12);
  guint16 reason_len = hv_get_u16(b + 208);
  if (declared != len || reason_len > HV_REASON_MAX ||
      HV_SEAL_FIXED_SIZE + reason_len + HV_SIG_SIZE != len) {
    g_set_error(error, HV_VAULT_ERROR,
                declared > len ? HV_VAULT_ERROR_TRUNCATED : HV_VAULT_ERROR_MALFORMED,
                "seal declares %u bytes with a %u-byte reason but the file has %zu",
                declared, reason_len, len);
    return FALSE;
  }
  memcpy(s.session_id, b + 16, HV_SESSION_ID_SIZE);
  memcpy(s.header_hash, b + 32, HV_HASH_SIZE);
  s.device_seq = hv_get_u64(b + 64);
  s.record_count = hv_get_u64(b + 72);
  s.media_count = hv_get_u64(b + 80);
  s.marker_count = hv_get_u64(b + 88);
  s.data_end = hv_get_u64(b + 96);
  memcpy(s.head, b + 104, HV_HASH_SIZE);
  s.start_wall_us = (gint64) hv_get_u64(b + 136);
  s.end_wall_us = (gint64) hv_get_u64(b + 144);
  s.end_mono_us = hv_get_u64(b + 152);
  s.sealed_wall_us = (gint64) hv_get_u64(b + 160);
  s.checkpoint_count = hv_get_u64(b + 168);
  memcpy(s.index_hash, b + 176, HV_HASH_SIZE);
  memcpy(s.reason, b + HV_SEAL_FIXED_SIZE, reason_len);
  s.reason[reason_len] = '\0';
  if (memchr(s.reason, '\0', reason_len) || !g_utf8_validate(s.reason, reason_len, NULL)) {
    g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_MALFORMED, "seal reason is not valid UTF-8");
    return FALSE;
  }
  memcpy(s.signature, b + HV_SEAL_FIXED_SIZE + reason_len, HV_SIG_SIZE);
  *ret_seal = s;
  return TRUE;
}

void
hv_seal_sign(guint8 *encoded, gsize len, const guint8 *device_sk)
{
  domain_sign(DOMAIN_SEAL, NULL, 0, encoded, len - HV_SIG_SIZE, device_sk, encoded + len - HV_SIG_SIZE);
}

gboolean
hv_seal_verify_signature(const guint8 *encoded, gsize len, const guint8 *device_pk)
{
  return domain_verify(DOMAIN_SEAL, NULL, 0, encoded, len - HV_SIG_SIZE, device_pk,
                       encoded + len - HV_SIG_SIZE);
}

/* ---- hashes ---- */

void
hv_hash(const guint8 *data, gsize len, guint8 out[HV_HASH_SIZE])
{
  crypto_generichash(out, HV_HASH_SIZE, data, len, NULL, 0);
}

void
hv_key_commitment(const guint8 *key, const guint8 *session_id, const guint8 *ss_header,
                  guint8 out[HV_HASH_SIZE])
{
  crypto_generichash_state st;
  crypto_generichash_init(&st, key, HV_SS_KEY_SIZE, HV_HASH_SIZE);
  crypto_generichash_update(&st, (const guint8 *) DOMAIN_COMMIT, sizeof DOMAIN_COMMIT);
  crypto_generichash_update(&st, session_id, HV_SESSION_ID_SIZE);
  crypto_generichash_update(&st, ss_header, HV_SS_HEADER_SIZE);
  crypto_generichash_final(&st, out, HV_HASH_SIZE);
  sodium_memzero(&st, sizeof st);
}

void
hv_chain_init(const guint8 header_hash[HV_HASH_SIZE], guint8 ret_head[HV_HASH_SIZE])
{
  crypto_generichash_state st;
  crypto_generichash_init(&st, NULL, 0, HV_HASH_SIZE);
  crypto_generichash_update(&st, (const guint8 *) DOMAIN_CHAIN_INIT, sizeof DOMAIN_CHAIN_INIT);
  crypto_generichash_update(&st, header_hash, HV_HASH_SIZE);
  crypto_generichash_final(&st, ret_head, HV_HASH_SIZE);
}

void
hv_chain_leaf(const guint8 *session_id, const guint8 rec_header[HV_RECORD_HEADER_SIZE],
              const guint8 *payload, gsize payload_len, guint8 ret_leaf[HV_HASH_SIZE])
{
  crypto_generichash_state st;

  crypto_generichash_init(&st, NULL, 0, HV_HASH_SIZE);
  crypto_generichash_update(&st, (const guint8 *) DOMAIN_LEAF, sizeof DOMAIN_LEAF);
  crypto_generichash_update(&st, session_id, HV_SESSION_ID_SIZE);
  crypto_generichash_update(&st, rec_header, HV_RECORD_HEADER_SIZE);
  crypto_generichash_update(&st, payload, payload_len);
  crypto_generichash_final(&st, ret_leaf, HV_HASH_SIZE);
}

void
hv_chain_fold(guint8 head[HV_HASH_SIZE], const guint8 leaf[HV_HASH_SIZE])
{
  crypto_generichash_state st;

  crypto_generichash_init(&st, NULL, 0, HV_HASH_SIZE);
  crypto_generichash_update(&st, (const guint8 *) DOMAIN_CHAIN, sizeof DOMAIN_CHAIN);
  crypto_generichash_update(&st, head, HV_HASH_SIZE);
  crypto_generichash_update(&st, leaf, HV_HASH_SIZE);
  crypto_generichash_final(&st, head, HV_HASH_SIZE);
}

void
hv_chain_step(guint8 head[HV_HASH_SIZE], const guint8 *session_id,
              const guint8 rec_header[HV_RECORD_HEADER_SIZE], const guint8 *payload, gsize payload_len)
{
  guint8 leaf[HV_HASH_SIZE];

  hv_chain_leaf(session_id, rec_header, payload, payload_len, leaf);
  hv_chain_fold(head, leaf);
}

/* ---- fingerprint ---- */

static const char B32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

char *
hv_fingerprint_from_seal_hash(const guint8 seal_hash[HV_HASH_SIZE])
{
  GString *s = g_string_sized_new(24);
  /* 20 characters x 5 bits = 100 bits, read big-endian bit order as RFC 4648. */
  for (guint i = 0; i < 20; i++) {
    guint bit = i * 5;
    guint v = ((guint) seal_hash[bit / 8] << 8 | seal_hash[bit / 8 + 1]) >> (11 - bit % 8) & 0x1f;
    if (i && i % 4 == 0)
      g_string_append_c(s, '-');
    g_string_append_c(s, B32[v]);
  }
  return g_string_free(s, FALSE);
}

char *
hv_fingerprint_normalise(const char *input)
{
  GString *s = g_string_sized_new(24);
  guint n = 0;
  for (const char *p = input; *p; p++) {
    if (*p == '-' || *p == ' ')
      continue;
    char c = g_ascii_toupper(*p);
    if (!strchr(B32, c) || n == 20) {
      g_string_free(s, TRUE);
      return NULL;
    }
    if (n && n % 4 == 0)
      g_string_append_c(s, '-');
    g_string_append_c(s, c);
    n++;
  }
  if (n != 20) {
    g_string_free(s, TRUE);
    return NULL;
  }
  return g_string_free(s, FALSE);
}

char *
hv_hex(const guint8 *data, gsize len)
{
  char *out = g_malloc(len * 2 + 1);
  sodium_bin2hex(out, len * 2 + 1, data, len);
  return out;
}

static gboolean
needs_unicode_escape(gunichar c)
{
  return c < 0x20 || c == 0x7f || (c >= 0x80 && c <= 0x9f) || c == 0x2028 || c == 0x2029;
}

void
hv_text_escape_append(GString *out, const char *data, gssize len)
{
  static const char hex[] = "0123456789ABCDEF";
  if (!data)
    return;
  gsize n = len < 0 ? strlen(data) : (gsize) len;
  const char *p = data, *end = data + n;
  while (p < end) {
    /* Runs of plain printable ASCII are copied at once. */
    const char *q = p;
    while (q < end && (guchar) *q >= 0x20 && (guchar) *q < 0x7f && *q != '\\')
      q++;
    if (q > p) {
      g_string_append_len(out, p, q - p);
      p = q;
      continue;
    }
    gunichar c = g_utf8_get_char_validated(p, end - p);
    if (c == (gunichar) -1 || c == (gunichar) -2 || c == 0) {
      char esc[4] = { '\\', 'x', hex[(guchar) *p >> 4], hex[(guchar) *p & 15] };
      g_string_append_len(out, esc, 4);
      p++;
      continue;
    }
    const char *next = g_utf8_next_char(p);
    if (c == '\\')
      g_string_append(out, "\\\\");
    else if (c == '\n')
      g_string_append(out, "\\n");
    else if (c == '\r')
      g_string_append(out, "\\r");
    else if (c == '\t')
      g_string_append(out, "\\t");
    else if (needs_unicode_escape(c))
      g_string_append_printf(out, "\\u{%04X}", c);
    else
      g_string_append_len(out, p, next - p);
    p = next;
  }
}

char *
hv_text_escape(const char *data, gssize len)
{
  GString *out = g_string_new(NULL);
  hv_text_escape_append(out, data, len);
  return g_string_free(out, FALSE);
}
