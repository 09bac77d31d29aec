// SPDX-License-Identifier: GPL-2.0-or-later
/* haven verify-clip: re-derive a clip (haven export --from/--until) from the
 * sealed session, byte for byte (docs/FORMAT.md §14). */
#include "cli.h"
#include "clip.h"
#include "sha256.h"
#include "trust.h"
#include "vault/vault.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef struct {
  HvDecryptor *dec;
  gboolean     have_first;
  guint64      first_mono_us;
  GArray      *markers;   /* of gint64: offsets from the first record */
  GArray      *records;   /* of HvClipRecord */
} Pass;

static gboolean
on_record(const HvRecordHeader *rh, const guint8 *payload, gpointer user_data, GError **error)
{
  Pass *p = user_data;
  if (!p->have_first) {
    p->have_first = TRUE;
    p->first_mono_us = rh->mono_us;
  }
  if (rh->type == HV_EVENT_MARKER) {
    gint64 off = (gint64) (rh->mono_us - p->first_mono_us);
    g_array_append_val(p->markers, off);
  }
  if (rh->type != HV_RECORD_MEDIA)
    return TRUE;
  HvClipRecord r = { .index = rh->index, .offset = hv_decryptor_plain_bytes(p->dec) };
  g_array_append_val(p->records, r);
  return hv_decryptor_on_record(rh, payload, p->dec, error);
}

typedef struct {
  HvSha256    *stream;
  HvTsScan    *scan;
  HvTsExtract *extract;
} Sink;

static gboolean
on_clip_bytes(const guint8 *data, gsize len, gpointer user_data, GError **error)
{
  hv_sha256_update(user_data, data, len);
  return TRUE;
}

static gboolean
on_plain(const guint8 *plain, gsize len, gpointer user_data, GError **error)
{
  Sink *s = user_data;
  hv_sha256_update(s->stream, plain, len);
  hv_ts_scan_feed(s->scan, plain, len);
  return hv_ts_extract_feed(s->extract, plain, len, error);
}

static int
mismatch(const char *what, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* The first thing that does not hold: exit 1. */
static int
mismatch(const char *what, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  g_autofree char *msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  printf("CLIP NOT RE-DERIVED: %s: %s\n", what, msg);
  return HV_EXIT_INTEGRITY;
}

/* A clip's TS (NAME-clip-S-E.ts) in dir. */
static gboolean
has_clip_ts(const char *dir)
{
  g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name(d)))
    if (strstr(name, "-clip-") && g_str_has_suffix(name, ".ts"))
      return TRUE;
  return FALSE;
}

/* CLIPDIR must be what 'haven export --from/--until' wrote: say what it is
 * instead when it is not (a whole export, a session, nothing). */
static gboolean
clip_dir_usable(const char *dir, const char *json_path)
{
  g_autofree char *shown = hv_text_escape(dir, -1);
  if (!g_file_test(dir, G_FILE_TEST_IS_DIR)) {
    hv_cli_error("verify-clip", "%s: %s (CLIPDIR is the directory 'haven export --from/--until' wrote)", shown,
                 g_file_test(dir, G_FILE_TEST_EXISTS) ? "not a directory" : "no such directory");
    return FALSE;
  }
  if (g_file_test(json_path, G_FILE_TEST_EXISTS))
    return TRUE;
  g_autofree char *report = g_build_filename(dir, "custody-report.txt", NULL);
  if (hv_vault_is_session_dir(dir))
    hv_cli_error("verify-clip", "%s is a sealed session, not a clip (no " HV_CLIP_JSON "): the clip directory "
                 "comes first: haven verify-clip -i KEYFILE CLIPDIR SESSION", shown);
  else if (g_file_test(report, G_FILE_TEST_IS_REGULAR) && has_clip_ts(dir))
    hv_cli_error("verify-clip", "%s: " HV_CLIP_JSON " is missing: the clip cannot be re-derived without it "
                 "(it names the cut; copy it with the clip, as 'haven export --from/--until' wrote it)", shown);
  else if (g_file_test(report, G_FILE_TEST_IS_REGULAR))
    hv_cli_error("verify-clip", "%s is an export of the whole session, not a clip (no " HV_CLIP_JSON "): "
                 "verify-clip checks what 'haven export --from/--until' wrote; a whole export's files have "
                 "their SHA-256 in its signed report (check it with 'haven custody verify-report')", shown);
  else
    hv_cli_error("verify-clip", "%s: no " HV_CLIP_JSON ": not a clip directory (CLIPDIR is the directory 'haven "
                 "export --from/--until' wrote)", shown);
  return FALSE;
}

static int
verify_clip(const char *dir, const char *session, const char *identity, const char *device_key,
            const char *expect)
{
  g_autoptr(GError) err = NULL;
  g_autofree char *json_path = g_build_filename(dir, HV_CLIP_JSON, NULL);
  g_auto(HvClipInfo) ci = { 0 };
  if (!clip_dir_usable(dir, json_path))
    return HV_EXIT_USAGE;
  if (!hv_clip_info_load(json_path, &ci, &err)) {
    hv_cli_error("verify-clip", "%s", err->message);
    return HV_EXIT_USAGE;
  }
  g_autofree char *want = NULL;
  if (expect && !(want = hv_fingerprint_normalise(expect))) {
    g_autofree char *shown = hv_text_escape(expect, -1);
    hv_cli_error("verify-clip", "--expect: '%s' is not a fingerprint (20 letters A-Z and digits 2-7, grouped by 4)",
                 shown);
    return HV_EXIT_USAGE;
  }
  g_autoptr(HvIdentity) id = hv_identity_load(identity, &err);
  if (!id) {
    hv_cli_error("verify-clip", "--identity: %s", err->message);
    return HV_EXIT_USAGE;
  }
  guint8 device_pk[HV_DEVICE_PK_SIZE];
  if (device_key && !hv_device_pubkey_load(device_key, device_pk, &err)) {
    hv_cli_error("verify-clip", "--device-key: %s", err->message);
    return HV_EXIT_USAGE;
  }
  const guint8 *pin = device_key ? device_pk : NULL;
  /* without --device-key: an enrolled device is pinned to its trusted key, as
   * by verify and export */
  g_autoptr(HvTrustedDevice) enrolled = NULL;
  if (!pin) {
    g_autofree char *trust_dir = hv_trust_dir();
    enrolled = hv_trust_lookup_session(trust_dir, session, &err);
    if (err) {
      hv_cli_error("verify-clip", "%s", err->message);
      return HV_EXIT_USAGE;
    }
    if (enrolled)
      pin = enrolled->pk;
  }
  HvHeader header;
  if (!hv_vault_read_header(session, pin, &header, &err))
    return mismatch("session", "%s", err->message);
  int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (null_fd < 0) {
    hv_cli_error("verify-clip", "/dev/null: %s", g_strerror(errno));
    return HV_EXIT_USAGE;
  }
  g_autoptr(HvDecryptor) dec = hv_decryptor_new(&header, id, null_fd, &err);
  if (!dec && g_error_matches(err, HV_VAULT_ERROR, HV_VAULT_ERROR_KEY) && header.n_recipients > 0) {
    close(null_fd);
    /* name the keys that would open it, as export does */
    g_autoptr(GString) ids = g_string_new(NULL);
    for (guint i = 0; i < header.n_recipients; i++) {
      g_autofree char *rid = hv_key_id(header.recipients[i].recipient_pk, HV_RECIPIENT_PK_SIZE);
      g_string_append_printf(ids, "%s%s", i ? ", " : "", rid);
    }
    g_autofree char *kid = hv_key_id(id->pk, HV_RECIPIENT_PK_SIZE);
    g_autofree char *shown = hv_text_escape(session, -1);
    hv_cli_error("verify-clip", "%s: identity %s is not one of this session's recipients (wrong key file?): the "
                 "session's %s %s; re-deriving a clip needs an identity that opens the session", shown, kid,
                 header.n_recipients == 1 ? "recipient is key id" : "recipients are key ids", ids->str);
    return HV_EXIT_USAGE;
  }
  if (!dec) {
    close(null_fd);
    hv_cli_error("verify-clip", "%s: %s", session, err->message);
    return err->code == HV_VAULT_ERROR_COMMITMENT ? HV_EXIT_INTEGRITY : HV_EXIT_USAGE;
  }
  /* one pass: the stream hashed and scanned, and the clip cut as clip.json
   * says (the cut recomputed from the scan must then be the same) */
  g_autoptr(HvSha256) stream = hv_sha256_new();
  g_autoptr(HvSha256) clip_sum = hv_sha256_new();
  g_autoptr(HvTsScan) scan = hv_ts_scan_new();
  g_autoptr(HvTsExtract) extract = hv_ts_extract_new(&ci.cut, on_clip_bytes, clip_sum);
  Sink sink = { stream, scan, extract };
  hv_decryptor_set_sink(dec, on_plain, &sink);
  g_autoptr(GArray) markers = g_array_new(FALSE, FALSE, sizeof(gint64));
  g_autoptr(GArray) records = g_array_new(FALSE, FALSE, sizeof(HvClipRecord));
  Pass pass = { .dec = dec, .markers = markers, .records = records };
  HvVerifyOptions vo = { .expected_device_pk = pin, .on_record = on_record, .user_data = &pass,
                         .threads = HV_VERIFY_ALL_CPUS };
  g_autoptr(HvVerdict) v = hv_vault_verify(session, &vo, &err);
  close(null_fd);
  if (!v) {
    hv_cli_error("verify-clip", "%s: %s", session, err->message);
    return HV_EXIT_USAGE;
  }
  if (!v->intact)
    return mismatch("session", "%s is INVALID: %s", session, v->problem);
  if (want && g_strcmp0(v->fingerprint, want) != 0)
    return mismatch("fingerprint", "the session's is %s, not the expected %s (a different session, or the paper "
                    "record was misread)", v->fingerprint, want);
  if (g_strcmp0(v->fingerprint, ci.fingerprint) != 0)
    return mismatch("fingerprint", "the session's is %s, clip.json names %s", v->fingerprint, ci.fingerprint);
  if (g_strcmp0(hv_status_name(v->seal.status), ci.status) != 0)
    return mismatch("status", "the session is sealed %s, clip.json says %s", hv_status_name(v->seal.status),
                    ci.status);
  g_autofree char *stream_hex = hv_sha256_finish(stream);
  if (hv_ts_scan_bytes(scan) != ci.stream_bytes || g_strcmp0(stream_hex, ci.stream_sha256) != 0)
    return mismatch("plaintext stream", "%" G_GUINT64_FORMAT " bytes, SHA-256 %s; clip.json: %" G_GUINT64_FORMAT
                    " bytes, SHA-256 %s", hv_ts_scan_bytes(scan), stream_hex, ci.stream_bytes, ci.stream_sha256);
  gint64 from_us, to_us = G_MAXINT64;
  gint64 *m = (gint64 *) (void *) markers->data;
  if (!hv_clip_parse_point("from", ci.from, m, markers->len, &from_us, &err)
      || (g_strcmp0(ci.until, "end") != 0 && !hv_clip_parse_point("until", ci.until, m, markers->len, &to_us, &err)))
    return mismatch("request", "%s", err->message);
  if (from_us != ci.from_us || to_us != ci.to_us)
    return mismatch("request", "--from %s --until %s are %" G_GINT64_FORMAT "-%" G_GINT64_FORMAT " us in this "
                    "session; clip.json: %" G_GINT64_FORMAT "-%" G_GINT64_FORMAT, ci.from, ci.until, from_us,
                    to_us, ci.from_us, ci.to_us);
  HvTsCut cut;
  if (!hv_ts_scan_cut(scan, from_us, to_us, &cut, &err))
    return mismatch("cut", "%s", err->message);
  if (cut.start != ci.cut.start || cut.end != ci.cut.end || cut.pat != ci.cut.pat || cut.pmt != ci.cut.pmt
      || cut.start_us != ci.cut.start_us || cut.end_us != ci.cut.end_us)
    return mismatch("cut", "bytes %" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT " (PAT %" G_GINT64_FORMAT ", PMT %"
                    G_GINT64_FORMAT ") by FORMAT section 14; clip.json: %" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT
                    " (PAT %" G_GINT64_FORMAT ", PMT %" G_GINT64_FORMAT ")", cut.start, cut.end, cut.pat, cut.pmt,
                    ci.cut.start, ci.cut.end, ci.cut.pat, ci.cut.pmt);
  if (records->len == 0)
    return mismatch("records", "the session has no media record");
  HvClipInfo re = { .cut = cut };
  hv_clip_info_set_records(&re, records);
  if (re.first.index != ci.first.index || re.first.offset != ci.first.offset || re.last.index != ci.last.index
      || re.last.offset != ci.last.offset || re.pat_record != ci.pat_record || re.pmt_record != ci.pmt_record)
    return mismatch("record range", "records %" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT "; clip.json: %"
                    G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT, re.first.index, re.last.index, ci.first.index,
                    ci.last.index);
  if (hv_ts_cut_length(&cut) != ci.ts_bytes)
    return mismatch("clip", "the cut is %" G_GUINT64_FORMAT " bytes with its tables; clip.json: %" G_GUINT64_FORMAT,
                    hv_ts_cut_length(&cut), ci.ts_bytes);
  if (!hv_ts_extract_finish(extract, &err))
    return mismatch("clip", "%s", err->message);
  g_autofree char *clip_hex = hv_sha256_finish(clip_sum);
  if (g_strcmp0(clip_hex, ci.ts_sha256) != 0)
    return mismatch("clip", "re-derived SHA-256 %s; clip.json: %s", clip_hex, ci.ts_sha256);
  g_autofree char *ts_path = g_build_filename(dir, ci.ts_name, NULL);
  g_autofree char *file_hex = hv_sha256_file(ts_path, &err);
  if (!file_hex)
    return mismatch("clip file", "%s", err->message);
  if (g_strcmp0(file_hex, ci.ts_sha256) != 0)
    return mismatch("clip file", "%s has SHA-256 %s, not the re-derived %s", ts_path, file_hex, clip_hex);
  printf("clip OK: %s is bytes %" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT " of session %s (%s; records %"
         G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT "), with its PAT and PMT, re-derived byte for byte (SHA-256 %s)\n",
         ci.ts_name, ci.cut.start, ci.cut.end, v->fingerprint, hv_status_name(v->seal.status), ci.first.index,
         ci.last.index, clip_hex);
  printf("fingerprint: %s (%s)\n", v->fingerprint,
         want ? "as expected" : "not compared: no --expect given");
  g_autofree char *dev = hv_key_id(header.device_pk, HV_DEVICE_PK_SIZE);
  g_autofree char *room = enrolled ? hv_text_escape(enrolled->room, -1) : NULL;
  if (enrolled)
    printf("device: %s, sequence %" G_GUINT64_FORMAT " (pinned: enrolled device %s (room \"%s\"), matches its "
           "key in the trust list)\n", dev, header.device_seq, enrolled->device_id, room);
  else if (device_key)
    printf("device: %s, sequence %" G_GUINT64_FORMAT " (pinned: matches the device key given with "
           "--device-key)\n", dev, header.device_seq);
  else
    printf("device: %s, sequence %" G_GUINT64_FORMAT " (NOT PINNED: no --device-key given and the device is not "
           "enrolled (haven enroll); the session is signed by the key in its own header, which does not prove "
           "which device recorded it)\n", dev, header.device_seq);
  return HV_EXIT_OK;
}

int
hv_cmd_verify_clip(int argc, char **argv)
{
  g_autofree char *identity = NULL;
  g_autofree char *device_key = NULL;
  g_autofree char *expect = NULL;
  GOptionEntry entries[] = {
    { "identity", 'i', 0, G_OPTION_ARG_FILENAME, &identity, "Custodian identity file that opens the session",
      "KEYFILE" },
    { "device-key", 0, 0, G_OPTION_ARG_FILENAME, &device_key,
      "Require the session to be signed by this device (its .pub file)", "FILE" },
    { "expect", 0, 0, G_OPTION_ARG_STRING, &expect, "Require this fingerprint (from the paper interview record)",
      "FP" },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new("CLIPDIR SESSION - re-derive a clip from its sealed session");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_option_context_set_description(ctx,
    "CLIPDIR is what 'haven export --from/--until' wrote. Verifies SESSION, checks that\n"
    "its fingerprint is the one clip.json names, decrypts it (nothing is written),\n"
    "recomputes the cut from clip.json's --from/--until by docs/FORMAT.md section 14 and\n"
    "requires the same byte range, tables, record range and SHA-256, and that the clip's\n"
    "TS in CLIPDIR is those bytes. The device is pinned as by 'haven verify': by\n"
    "--device-key, else an enrolled device (haven enroll) by its key in the trust\n"
    "list; otherwise the output says NOT PINNED. The identity must be one of the\n"
    "session's recipients (a wrong one is named with the recipients' key ids).\n"
    "--expect FP requires the session's fingerprint to be the paper record's, not\n"
    "only clip.json's.\n"
    "Exit status: 0 re-derived, 1 not (the first difference is named), 2 usage or I/O\n"
    "error.");
  if (!hv_cli_parse(ctx, &argc, &argv))
    return HV_EXIT_USAGE;
  if (!identity || argc != 3) {
    hv_cli_error("verify-clip", "--identity KEYFILE, one CLIPDIR and one SESSION are required");
    return HV_EXIT_USAGE;
  }
  /* the session given where CLIPDIR goes and the clip where SESSION goes: say the order */
  g_autofree char *swapped_json = g_build_filename(argv[2], HV_CLIP_JSON, NULL);
  if (hv_vault_is_session_dir(argv[1]) && g_file_test(swapped_json, G_FILE_TEST_IS_REGULAR)) {
    g_autofree char *clip = hv_text_escape(argv[2], -1);
    g_autofree char *session = hv_text_escape(argv[1], -1);
    hv_cli_error("verify-clip", "the arguments are the wrong way round: CLIPDIR first, then SESSION (haven "
                 "verify-clip -i KEYFILE %s %s)", clip, session);
    return HV_EXIT_USAGE;
  }
  if (!hv_cli_require_session_dir("verify-clip", argv[2]))
    return HV_EXIT_USAGE;
  return verify_clip(argv[1], argv[2], identity, device_key, expect);
}
