/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vault-format: the on-disk evidence format (docs/FORMAT.md), its constants,
 * byte-order explicit encoders/decoders for every fixed structure, the hash
 * chain and the fingerprint. Pure functions: no file I/O here.
 */
#pragma once

#include <glib.h>
#include <sodium.h>
#include <stdint.h>

G_BEGIN_DECLS

#define HV_FORMAT_VERSION 1

#define HV_FILE_HEADER  "header.hvh"
#define HV_FILE_RECORDS "records.hvr"
#define HV_FILE_INDEX   "index.hvi"
#define HV_FILE_SEAL    "seal.hvs"

#define HV_HASH_SIZE        32u
#define HV_SESSION_ID_SIZE  16u
#define HV_SIG_SIZE         crypto_sign_BYTES        /* 64 */
#define HV_DEVICE_PK_SIZE   crypto_sign_PUBLICKEYBYTES /* 32 */
#define HV_DEVICE_SK_SIZE   crypto_sign_SECRETKEYBYTES /* 64 */
#define HV_RECIPIENT_PK_SIZE crypto_box_PUBLICKEYBYTES /* 32 */
#define HV_RECIPIENT_SK_SIZE crypto_box_SECRETKEYBYTES /* 32 */
#define HV_SS_KEY_SIZE      crypto_secretstream_xchacha20poly1305_KEYBYTES   /* 32 */
#define HV_SS_HEADER_SIZE   crypto_secretstream_xchacha20poly1305_HEADERBYTES /* 24 */
#define HV_SS_ABYTES        crypto_secretstream_xchacha20poly1305_ABYTES     /* 17 */
#define HV_SEALED_KEY_SIZE  (HV_SS_KEY_SIZE + crypto_box_SEALBYTES)          /* 80 */
#define HV_STANZA_BODY_SIZE (HV_RECIPIENT_PK_SIZE + HV_SEALED_KEY_SIZE)      /* 112 */

#define HV_CHUNK_MAX        65536u  /* max plaintext bytes in one media record */
#define HV_MEDIA_RECORD_MAX (HV_CHUNK_MAX + HV_SS_ABYTES)
#define HV_EVENT_MAX        4096u   /* max event payload bytes */
#define HV_ROOM_MAX         128u
#define HV_REASON_MAX       256u
#define HV_RECIPIENTS_MAX   16u

#define HV_RECORD_HEADER_SIZE 40u
#define HV_CHECKPOINT_SIZE    136u
#define HV_HEADER_FIXED_SIZE  184u
#define HV_HEADER_MAX_SIZE    (HV_HEADER_FIXED_SIZE + HV_ROOM_MAX + \
                               HV_RECIPIENTS_MAX * (2 + HV_STANZA_BODY_SIZE) + HV_SIG_SIZE)
#define HV_SEAL_FIXED_SIZE    212u
#define HV_SEAL_MAX_SIZE      (HV_SEAL_FIXED_SIZE + HV_REASON_MAX + HV_SIG_SIZE)

#define HV_RECORD_FLAG_FINAL 0x0001u

typedef enum {
  HV_RECORD_MEDIA        = 1,
  HV_EVENT_START         = 16,
  HV_EVENT_STOP          = 17,
  HV_EVENT_MARKER        = 18,
  HV_EVENT_FAULT         = 19,
  HV_EVENT_SOURCE_LOST   = 20,
  HV_EVENT_SOURCE_BACK   = 21,
  HV_EVENT_MIC_SILENT    = 22,
  HV_EVENT_MIC_BACK      = 23,
  HV_EVENT_CLOCK_STEP    = 24,
  HV_EVENT_STORAGE_FAULT = 25,
  HV_EVENT_RECOVERY      = 26,
  HV_EVENT_NOTE          = 27,
} HvRecordType;

typedef enum {
  HV_STATUS_COMPLETE    = 1,
  HV_STATUS_INTERRUPTED = 2,
  HV_STATUS_IO_FAILED   = 3,
} HvSealStatus;

#define HV_VAULT_ERROR (hv_vault_error_quark())
GQuark hv_vault_error_quark(void);

typedef enum {
  HV_VAULT_ERROR_IO,         /* an operating-system error reading or writing */
  HV_VAULT_ERROR_MALFORMED,  /* a structure does not parse */
  HV_VAULT_ERROR_TRUNCATED,  /* a file ends inside a structure */
  HV_VAULT_ERROR_SIGNATURE,  /* an Ed25519 signature does not verify */
  HV_VAULT_ERROR_CHAIN,      /* hash chain, counts or ordering disagree */
  HV_VAULT_ERROR_MISMATCH,   /* parts belong to different sessions/devices */
  HV_VAULT_ERROR_UNSEALED,   /* no seal: open or crashed session */
  HV_VAULT_ERROR_KEY,        /* key file bad, no stanza for us, commitment */
  HV_VAULT_ERROR_DECRYPT,    /* authenticated decryption failed */
  HV_VAULT_ERROR_LEDGER,     /* device ledger broken between sessions */
  HV_VAULT_ERROR_EXISTS,     /* refusing to overwrite */
  HV_VAULT_ERROR_FINGERPRINT,/* --expect did not match */
  HV_VAULT_ERROR_COMMITMENT, /* an unwrapped key does not match the key commitment */
} HvVaultError;

typedef struct {
  guint8 recipient_pk[HV_RECIPIENT_PK_SIZE];
  guint8 sealed_key[HV_SEALED_KEY_SIZE];
} HvStanza;

typedef struct {
  guint16 version;
  guint8  session_id[HV_SESSION_ID_SIZE];
  guint8  device_pk[HV_DEVICE_PK_SIZE];
  guint64 device_seq;
  guint8  prev_seal_hash[HV_HASH_SIZE];
  gint64  created_wall_us;
  guint64 created_mono_us;
  guint32 chunk_max;
  guint8  ss_header[HV_SS_HEADER_SIZE];
  guint8  key_commitment[HV_HASH_SIZE];
  char    room[HV_ROOM_MAX + 1];
  guint   n_recipients;
  HvStanza recipients[HV_RECIPIENTS_MAX];
  guint8  signature[HV_SIG_SIZE];
} HvHeader;

typedef struct {
  guint16 type;
  guint16 flags;
  guint64 index;
  guint64 mono_us;
  gint64  wall_us;
  guint32 length;
} HvRecordHeader;

typedef struct {
  guint64 count;
  guint64 data_end;
  guint64 mono_us;
  gint64  wall_us;
  guint8  head[HV_HASH_SIZE];
  guint8  signature[HV_SIG_SIZE];
} HvCheckpoint;

typedef struct {
  guint16 version;
  guint8  status;
  guint8  session_id[HV_SESSION_ID_SIZE];
  guint8  header_hash[HV_HASH_SIZE];
  guint64 device_seq;
  guint64 record_count;
  guint64 media_count;
  guint64 marker_count;
  guint64 data_end;
  guint8  head[HV_HASH_SIZE];
  gint64  start_wall_us;
  gint64  end_wall_us;
  guint64 end_mono_us;
  gint64  sealed_wall_us;
  guint64 checkpoint_count;         /* checkpoints in index.hvi as sealed */
  guint8  index_hash[HV_HASH_SIZE]; /* H(entire index.hvi as sealed) */
  char    reason[HV_REASON_MAX + 1];
  guint8  signature[HV_SIG_SIZE];
} HvSeal;

/* Little-endian helpers (every on-disk integer is little-endian). */
void    hv_put_u16(guint8 *p, guint16 v);
void    hv_put_u32(guint8 *p, guint32 v);
void    hv_put_u64(guint8 *p, guint64 v);
guint16 hv_get_u16(const guint8 *p);
guint32 hv_get_u32(const guint8 *p);
guint64 hv_get_u64(const guint8 *p);

const char *hv_record_type_name(guint16 type);
gboolean    hv_record_type_is_event(guint16 type);
const char *hv_status_name(guint8 status);

/* Header: encode into a newly allocated buffer (signature bytes taken from
 * hdr->signature); the signed message is the returned buffer minus its last
 * HV_SIG_SIZE bytes. */
GBytes  *hv_header_encode(const HvHeader *hdr);
gboolean hv_header_decode(const guint8 *buf, gsize len, HvHeader *ret_hdr, GError **error)
    G_GNUC_WARN_UNUSED_RESULT;
void     hv_header_sign(guint8 *encoded, gsize len, const guint8 *device_sk);
gboolean hv_header_verify_signature(const guint8 *encoded, gsize len, const guint8 *device_pk);

void     hv_record_header_encode(const HvRecordHeader *rh, guint8 out[HV_RECORD_HEADER_SIZE]);
gboolean hv_record_header_decode(const guint8 in[HV_RECORD_HEADER_SIZE], HvRecordHeader *ret_rh,
                                 GError **error) G_GNUC_WARN_UNUSED_RESULT;

void     hv_checkpoint_encode(const HvCheckpoint *cp, guint8 out[HV_CHECKPOINT_SIZE]);
gboolean hv_checkpoint_decode(const guint8 in[HV_CHECKPOINT_SIZE], HvCheckpoint *ret_cp,
                              GError **error) G_GNUC_WARN_UNUSED_RESULT;
void     hv_checkpoint_sign(guint8 encoded[HV_CHECKPOINT_SIZE], const guint8 *session_id,
                            const guint8 *device_sk);
gboolean hv_checkpoint_verify_signature(const guint8 encoded[HV_CHECKPOINT_SIZE],
                                        const guint8 *session_id, const guint8 *device_pk);

GBytes  *hv_seal_encode(const HvSeal *seal);
gboolean hv_seal_decode(const guint8 *buf, gsize len, HvSeal *ret_seal, GError **error)
    G_GNUC_WARN_UNUSED_RESULT;
void     hv_seal_sign(guint8 *encoded, gsize len, const guint8 *device_sk);
gboolean hv_seal_verify_signature(const guint8 *encoded, gsize len, const guint8 *device_pk);

/* Hashes. */
void hv_hash(const guint8 *data, gsize len, guint8 out[HV_HASH_SIZE]);
void hv_key_commitment(const guint8 *key, const guint8 *session_id, const guint8 *ss_header,
                       guint8 out[HV_HASH_SIZE]);
void hv_chain_init(const guint8 header_hash[HV_HASH_SIZE], guint8 ret_head[HV_HASH_SIZE]);
/* Advance the chain by one record: head = H(chain-domain || head || leaf). */
void hv_chain_step(guint8 head[HV_HASH_SIZE], const guint8 *session_id,
                   const guint8 rec_header[HV_RECORD_HEADER_SIZE],
                   const guint8 *payload, gsize payload_len);
/* The two halves of hv_chain_step: the leaf of one record (independent of
 * every other record, so it can be computed on any thread) and the fold of a
 * leaf into the head (sequential, in record order). */
void hv_chain_leaf(const guint8 *session_id, const guint8 rec_header[HV_RECORD_HEADER_SIZE],
                   const guint8 *payload, gsize payload_len, guint8 ret_leaf[HV_HASH_SIZE]);
void hv_chain_fold(guint8 head[HV_HASH_SIZE], const guint8 leaf[HV_HASH_SIZE]);

/* Fingerprint: first 100 bits of the seal hash, RFC 4648 base32, as
 * "XXXX-XXXX-XXXX-XXXX-XXXX". Returns a newly allocated string. */
char *hv_fingerprint_from_seal_hash(const guint8 seal_hash[HV_HASH_SIZE]);
/* Normalise user input (case, spaces, dashes); NULL when not 20 base32 chars. */
char *hv_fingerprint_normalise(const char *input);

/* Text from the files (event text, room name, seal reason, paths) made safe
 * to print on one line of a terminal, report or JSON string: valid UTF-8 is
 * kept, except that a backslash becomes "\\", line breaks and tabs become
 * "\n", "\r", "\t", every other control character (C0, DEL, C1, and
 * U+2028/U+2029) becomes "\u{XXXX}", and each byte that is not valid UTF-8
 * (NUL included) becomes "\xNN". The result is valid UTF-8 without control
 * characters. Newly allocated. */
char *hv_text_escape(const char *data, gssize len);
/* The same, appended to out (no allocation once out is large enough). */
void  hv_text_escape_append(GString *out, const char *data, gssize len);

/* Hex of a byte string, newly allocated. */
char *hv_hex(const guint8 *data, gsize len);

G_END_DECLS
