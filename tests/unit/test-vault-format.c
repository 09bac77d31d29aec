// SPDX-License-Identifier: GPL-2.0-or-later
#include "vault-format.h"

#include <string.h>

static void
test_byte_order(void)
{
  guint8 b[8];
  hv_put_u32(b, 0x11223344u);
  g_assert_cmpuint(b[0], ==, 0x44);
  g_assert_cmpuint(b[3], ==, 0x11);
  hv_put_u64(b, G_GUINT64_CONSTANT(0x0102030405060708));
  g_assert_cmpuint(b[0], ==, 0x08);
  g_assert_cmpuint(hv_get_u64(b), ==, G_GUINT64_CONSTANT(0x0102030405060708));
  hv_put_u16(b, 0xabcd);
  g_assert_cmpuint(b[0], ==, 0xcd);
  g_assert_cmpuint(hv_get_u16(b), ==, 0xabcd);
}

static void
test_record_header(void)
{
  HvRecordHeader rh = { .type = HV_RECORD_MEDIA, .flags = HV_RECORD_FLAG_FINAL, .index = 7,
                        .mono_us = 123, .wall_us = -5, .length = 100 }, out;
  guint8 enc[HV_RECORD_HEADER_SIZE];
  hv_record_header_encode(&rh, enc);
  g_assert_true(hv_record_header_decode(enc, &out, NULL));
  g_assert_cmpuint(out.index, ==, 7);
  g_assert_cmpint(out.wall_us, ==, -5);
  g_assert_cmpuint(out.flags, ==, HV_RECORD_FLAG_FINAL);

  g_autoptr(GError) err = NULL;
  rh.type = 999;
  hv_record_header_encode(&rh, enc);
  g_assert_false(hv_record_header_decode(enc, &out, &err));
  g_assert_error(err, HV_VAULT_ERROR, HV_VAULT_ERROR_MALFORMED);
  g_clear_error(&err);
  rh.type = HV_EVENT_MARKER; /* events may not carry the final flag */
  hv_record_header_encode(&rh, enc);
  g_assert_false(hv_record_header_decode(enc, &out, &err));
  g_clear_error(&err);
  rh.flags = 0;
  rh.length = HV_EVENT_MAX + 1;
  hv_record_header_encode(&rh, enc);
  g_assert_false(hv_record_header_decode(enc, &out, &err));
  g_assert_error(err, HV_VAULT_ERROR, HV_VAULT_ERROR_MALFORMED);
}

static void
test_header_roundtrip(void)
{
  HvHeader h = { .version = 1, .device_seq = 3, .chunk_max = 65536, .n_recipients = 2 };
  g_strlcpy(h.room, "Kinderzimmer ü", sizeof h.room);
  randombytes_buf(h.session_id, sizeof h.session_id);
  randombytes_buf(h.recipients, sizeof h.recipients);
  guint8 pk[32], sk[64];
  crypto_sign_keypair(pk, sk);
  memcpy(h.device_pk, pk, 32);
  g_autoptr(GBytes) enc = hv_header_encode(&h);
  gsize len;
  guint8 *data = (guint8 *) g_bytes_get_data(enc, &len);
  g_assert_cmpuint(len, ==, HV_HEADER_FIXED_SIZE + strlen(h.room) + 2 * 114 + 64);
  hv_header_sign(data, len, sk);
  g_assert_true(hv_header_verify_signature(data, len, pk));
  HvHeader out;
  g_assert_true(hv_header_decode(data, len, &out, NULL));
  g_assert_cmpstr(out.room, ==, h.room);
  g_assert_cmpuint(out.n_recipients, ==, 2);
  g_assert_cmpmem(out.recipients, sizeof(HvStanza) * 2, h.recipients, sizeof(HvStanza) * 2);

  data[HV_HEADER_FIXED_SIZE + strlen(h.room)] = 111; /* first stanza length */
  g_autoptr(GError) err = NULL;
  g_assert_false(hv_header_decode(data, len, &out, &err));
  g_assert_error(err, HV_VAULT_ERROR, HV_VAULT_ERROR_MALFORMED);
  g_assert_nonnull(strstr(err->message, "stanza 1 has length 111"));
  g_clear_error(&err);
  g_assert_false(hv_header_decode(data, len - 1, &out, &err));
  g_assert_error(err, HV_VAULT_ERROR, HV_VAULT_ERROR_TRUNCATED);
}

static void
test_seal_roundtrip(void)
{
  HvSeal s = { .version = 1, .status = HV_STATUS_INTERRUPTED, .record_count = 9, .data_end = 1000,
               .checkpoint_count = 4 };
  for (guint i = 0; i < HV_HASH_SIZE; i++)
    s.index_hash[i] = (guint8) (0xa0 + i);
  g_strlcpy(s.reason, "power", sizeof s.reason);
  g_autoptr(GBytes) enc = hv_seal_encode(&s);
  HvSeal out;
  g_assert_true(hv_seal_decode(g_bytes_get_data(enc, NULL), g_bytes_get_size(enc), &out, NULL));
  g_assert_cmpuint(out.status, ==, HV_STATUS_INTERRUPTED);
  g_assert_cmpuint(out.record_count, ==, 9);
  g_assert_cmpstr(out.reason, ==, "power");
  /* FORMAT.md §7: checkpoint_count at 168, index_hash at 176, reason_len at 208 */
  const guint8 *raw = g_bytes_get_data(enc, NULL);
  g_assert_cmpuint(g_bytes_get_size(enc), ==, 212 + 5 + 64);
  g_assert_cmpuint(hv_get_u64(raw + 168), ==, 4);
  g_assert_cmpmem(raw + 176, HV_HASH_SIZE, s.index_hash, HV_HASH_SIZE);
  g_assert_cmpuint(hv_get_u16(raw + 208), ==, 5);
  g_assert_cmpmem(raw + 212, 5, "power", 5);
  g_assert_cmpuint(out.checkpoint_count, ==, 4);
  g_assert_cmpmem(out.index_hash, HV_HASH_SIZE, s.index_hash, HV_HASH_SIZE);
  guint8 *bad = g_memdup2(g_bytes_get_data(enc, NULL), g_bytes_get_size(enc));
  bad[10] = 9; /* unknown status */
  g_autoptr(GError) err = NULL;
  g_assert_false(hv_seal_decode(bad, g_bytes_get_size(enc), &out, &err));
  g_assert_error(err, HV_VAULT_ERROR, HV_VAULT_ERROR_MALFORMED);
  g_free(bad);
}

static void
test_checkpoint_signature(void)
{
  guint8 pk[32], sk[64], sid[16] = { 1 }, other[16] = { 2 };
  crypto_sign_keypair(pk, sk);
  HvCheckpoint cp = { .count = 5, .data_end = 500 };
  guint8 enc[HV_CHECKPOINT_SIZE];
  hv_checkpoint_encode(&cp, enc);
  hv_checkpoint_sign(enc, sid, sk);
  g_assert_true(hv_checkpoint_verify_signature(enc, sid, pk));
  g_assert_false(hv_checkpoint_verify_signature(enc, other, pk));
  enc[8] ^= 1;
  g_assert_false(hv_checkpoint_verify_signature(enc, sid, pk));
}

/* Test vectors from docs/FORMAT.md: an independent implementation must agree. */
static void
test_vectors(void)
{
  guint8 hash[32];
  for (guint i = 0; i < 32; i++)
    hash[i] = (guint8) i;
  g_autofree char *fp = hv_fingerprint_from_seal_hash(hash);
  g_assert_cmpstr(fp, ==, "AAAQ-EAYE-AUDA-OCAJ-BIFQ");

  guint8 header_hash[32] = { 0 }, head[32], sid[16] = { 0 };
  hv_chain_init(header_hash, head);
  g_autofree char *h0 = hv_hex(head, 32);
  HvRecordHeader rh = { .type = HV_EVENT_MARKER, .index = 0, .mono_us = 1, .wall_us = 2, .length = 6 };
  guint8 enc[HV_RECORD_HEADER_SIZE];
  hv_record_header_encode(&rh, enc);
  hv_chain_step(head, sid, enc, (const guint8 *) "marker", 6);
  g_autofree char *h1 = hv_hex(head, 32);
  g_test_message("chain init %s, after marker %s", h0, h1);
  g_assert_cmpstr(h0, ==, "d660444c822927c39297efed568d28c7d28cf0285c6f474ac66471e03d5c4bbc");
  g_assert_cmpstr(h1, ==, "aa8691ee58e30ab820cb9ca0e03f398a7b999a9a1b0e81950f15b5493df9f19d");
}

static void
test_fingerprint_normalise(void)
{
  g_autofree char *a = hv_fingerprint_normalise("aaaq eaye audaocaj-bifq");
  g_assert_cmpstr(a, ==, "AAAQ-EAYE-AUDA-OCAJ-BIFQ");
  g_assert_null(hv_fingerprint_normalise("AAAQ-EAYE-AUDA-OCAJ-BIF1"));
  g_assert_null(hv_fingerprint_normalise("AAAQ"));
  g_assert_null(hv_fingerprint_normalise("AAAQ-EAYE-AUDA-OCAJ-BIFQA"));
}

/* Text from the files never reaches a terminal or report as a control
 * character, a line break or invalid UTF-8 (issue 8 item 7). */
static void
test_text_escape(void)
{
  static const struct { const char *in; gssize len; const char *out; } cases[] = {
    { "marker 1", -1, "marker 1" },
    { "caf\xc3\xa9", -1, "caf\xc3\xa9" },
    { "a\nFingerprint: AAAA", -1, "a\\nFingerprint: AAAA" },
    { "\x1b[2J", -1, "\\u{001B}[2J" },
    { "x\r\ty", -1, "x\\r\\ty" },
    { "back\\slash", -1, "back\\\\slash" },
    { "\xff\xfe", -1, "\\xFF\\xFE" },
    { "a\0b", 3, "a\\x00b" },
    { "\xc2\x85 \xe2\x80\xa8 \x7f", -1, "\\u{0085} \\u{2028} \\u{007F}" },
    { "\xe2\x82", -1, "\\xE2\\x82" },
  };
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autofree char *got = hv_text_escape(cases[i].in, cases[i].len);
    g_assert_cmpstr(got, ==, cases[i].out);
    g_assert_true(g_utf8_validate(got, -1, NULL));
    for (const char *c = got; *c; c++)
      g_assert_true((guchar) *c >= 0x20 && *c != 0x7f);
  }
}

int
main(int argc, char **argv)
{
  g_assert_cmpint(sodium_init(), >=, 0);
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/vault-format/byte-order", test_byte_order);
  g_test_add_func("/vault-format/record-header", test_record_header);
  g_test_add_func("/vault-format/header", test_header_roundtrip);
  g_test_add_func("/vault-format/seal", test_seal_roundtrip);
  g_test_add_func("/vault-format/checkpoint-signature", test_checkpoint_signature);
  g_test_add_func("/vault-format/vectors", test_vectors);
  g_test_add_func("/vault-format/fingerprint-normalise", test_fingerprint_normalise);
  g_test_add_func("/vault-format/text-escape", test_text_escape);
  return g_test_run();
}
