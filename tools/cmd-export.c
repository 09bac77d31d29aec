// SPDX-License-Identifier: GPL-2.0-or-later
/* haven export: verify, decrypt with the custodian's identity, remux, report. */
#include "cli.h"
#include "clip.h"
#include "custody-log.h"
#include "report-html.h"
#include "report-sign.h"
#include "trust.h"
#include "sha256.h"
#include "remux-process.h"
#include "vault/vault.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void
file_close(FILE *f)
{
  (void) fclose(f);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FILE, file_close)

static guint64
file_size(const char *path)
{
  GStatBuf st;
  return g_stat(path, &st) == 0 ? (guint64) st.st_size : 0;
}

static void
rm_rf(const char *dir)
{
  g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name(d))) {
    g_autofree char *p = g_build_filename(dir, name, NULL);
    (void) g_unlink(p);
  }
  (void) g_rmdir(dir);
}

/* What the report says about the device key: pinned to the custodian's copy,
 * or taken from the session's own header (which proves nothing about which
 * device recorded it). */
static char *
device_line(const HvHeader *h, gboolean pinned, const HvTrustedDevice *enrolled)
{
  g_autofree char *dev = hv_key_id(h->device_pk, HV_DEVICE_PK_SIZE);
  g_autofree char *room = enrolled ? hv_text_escape(enrolled->room, -1) : NULL;
  g_autofree char *how = enrolled ? g_strdup_printf("pinned: enrolled device %s (room \"%s\"), matches its key "
                                                    "in the trust list %s", enrolled->device_id, room,
                                                    enrolled->pub_path)
                                  : NULL;
  return g_strdup_printf("%s, sequence %" G_GUINT64_FORMAT " (%s)", dev, h->device_seq,
                         how ? how
                         : pinned ? "pinned: matches the device key given with --device-key"
                                  : "NOT PINNED: no --device-key given and the device is not enrolled (haven "
                                    "enroll); the session is signed by the key in its own header, which does not "
                                    "prove which device recorded it");
}

/* What the report needs beyond the verdict: who exports, what for, where the
 * custody event goes. */
typedef struct {
  const HvIdentity *id;
  gboolean          pinned;
  const HvTrustedDevice *enrolled; /* pinned through the trust list, or NULL */
  gboolean          expected;
  const char       *source;      /* absolute path of the session */
  const char       *ref;         /* --ref, or NULL */
  const char       *to;          /* --to, or NULL */
  const char       *custody_log; /* NULL: no custody event (identity without a signing key) */
  guint64           custody_seq;
  const HvClipInfo *clip;        /* --from/--until: the clip exported; NULL: the whole session */
} ReportContext;

/* One "Label:  value" line of the text report and one row of the HTML
 * summary; value is raw (escaped here for each). */
static void
report_field(GString *r, HvReportHtml *html, const char *label, const char *value)
{
  g_autofree char *l = g_strdup_printf("%s:", label);
  g_autofree char *v = hv_text_escape(value, -1);
  g_string_append_printf(r, "%-17s%s\n", l, v);
  hv_report_html_field(html, label, value);
}

static GString *
custody_head(const HvVerdict *v, const ReportContext *c, HvReportHtml *html, GError **error)
{
  const HvHeader *h = &v->header;
  g_autoptr(GString) r = g_string_new("HAVEN CUSTODY REPORT\n====================\n\n");
  g_autofree char *now = hv_cli_format_time(g_get_real_time());
  g_autofree char *sid = hv_hex(h->session_id, HV_SESSION_ID_SIZE);
  g_autofree char *kid = hv_key_id(c->id->pk, HV_RECIPIENT_PK_SIZE);
  g_autofree char *dev = device_line(h, c->pinned, c->enrolled);
  g_autofree char *start = hv_cli_format_time(v->first_wall_us);
  g_autofree char *end = hv_cli_format_time(v->last_wall_us);
  g_autofree char *dur = hv_cli_format_duration(v->last_mono_us - v->first_mono_us);
  g_autofree char *user = hv_custody_os_user();

  g_autofree char *exported = g_strdup_printf("%s on host %s by custodian key %s", now, g_get_host_name(), kid);
  report_field(r, html, "Exported", exported);
  report_field(r, html, "Tool", "haven " HAVEN_VERSION);
  g_autofree char *who = g_strdup_printf("%s (uid %u)", user, (unsigned) geteuid());
  report_field(r, html, "OS user", who);
  report_field(r, html, "Source session", c->source);
  report_field(r, html, "Session id", sid);
  report_field(r, html, "Room", h->room[0] ? h->room : "(not set)");
  report_field(r, html, "Device", dev);
  g_autofree char *verdict = g_strdup_printf("%s (%s)", hv_status_name(v->seal.status),
                                             v->seal.reason[0] ? v->seal.reason : "no reason recorded");
  report_field(r, html, "Verdict", verdict);
  g_autofree char *fp = g_strdup_printf("%s (%s)", v->fingerprint,
                                        c->expected ? "matches the fingerprint given with --expect"
                                                    : "not compared: no --expect given");
  report_field(r, html, "Fingerprint", fp);
  g_autofree char *rec = g_strdup_printf("%s to %s (%s)", start, end, dur);
  report_field(r, html, "Recorded", rec);
  g_autofree char *counts = g_strdup_printf("%" G_GUINT64_FORMAT " (%" G_GUINT64_FORMAT " media %s, %"
                                            G_GUINT64_FORMAT " %s, %" G_GUINT64_FORMAT " %s)",
                                            v->records, v->media_records,
                                            hv_cli_plural(v->media_records, "chunk", "chunks"), v->events,
                                            hv_cli_plural(v->events, "event", "events"), v->markers,
                                            hv_cli_plural(v->markers, "marker", "markers"));
  report_field(r, html, "Records", counts);
  /* said at the top: a reader must not take a clip's report for the whole session's */
  g_autofree char *part = NULL;
  if (c->clip) {
    g_autofree char *a = hv_cli_format_duration((guint64) MAX(c->clip->cut.start_us, 0));
    g_autofree char *e = c->clip->cut.end_us < 0 ? NULL : hv_cli_format_duration((guint64) c->clip->cut.end_us);
    g_autofree char *b = e ? g_strdup_printf("+%s", e) : g_strdup("the end of the recording");
    part = g_strdup_printf("a CLIP of the session, from +%s to %s (asked --from %s --until %s; see CLIP below)",
                           a, b, c->clip->from, c->clip->until);
  }
  report_field(r, html, "Exported part", part ? part : "the whole session");
  report_field(r, html, "Case/exhibit", c->ref ? c->ref : "(not given: --ref)");
  report_field(r, html, "Recipient", c->to ? c->to : "(not given: --to)");
  g_autofree char *custody = NULL;
  if (c->custody_log) {
    g_autofree char *signer = hv_key_id(c->id->sign_pk, HV_SIGNER_PK_SIZE);
    custody = g_strdup_printf("entry %" G_GUINT64_FORMAT " of %s, signed by custodian signing key %s",
                              c->custody_seq, c->custody_log, signer);
  } else {
    custody = g_strdup("NOT RECORDED: the identity has no signing key");
  }
  report_field(r, html, "Custody event", custody);

  g_string_append(r, "\nSealed source files (SHA-256):\n");
  static const char *const sealed[] = { HV_FILE_HEADER, HV_FILE_RECORDS, HV_FILE_INDEX, HV_FILE_SEAL };
  for (guint i = 0; i < G_N_ELEMENTS(sealed); i++) {
    g_autofree char *p = g_build_filename(c->source, sealed[i], NULL);
    g_autofree char *sum = hv_sha256_file(p, error);
    if (!sum)
      return NULL;
    g_autofree char *shown = hv_text_escape(p, -1);
    g_string_append_printf(r, "  %s  %s\n", sum, shown);
    hv_report_html_source_file(html, p, sum);
  }
  g_string_append(r, c->clip ? "\nEvents and markers of the whole session, in and outside the clip (device wall "
                               "clock; offset from the first record; text escaped):\n"
                             : "\nEvents and markers (device wall clock; offset from the first record; text "
                               "escaped):\n");
  return g_steal_pointer(&r);
}

/* The single verify+decrypt pass: media goes to the decryptor, each event is
 * written as one escaped report line to a scratch file, so memory stays
 * bounded whatever the number of events. */
typedef struct {
  HvDecryptor *dec;
  FILE        *events;
  FILE        *html_rows;
  GString     *line;    /* reused: no allocation per event */
  gboolean     have_first;
  guint64      first_mono_us;
  GArray      *chapters;   /* of Chapter: one per marker, for the MP4 and the report */
  guint64      markers_not_chapters;   /* beyond MAX_CHAPTERS */
  GArray      *records;    /* of HvClipRecord, for a clip (--from/--until); else NULL */
  GArray      *markers;    /* of gint64: every marker's offset, chapter or not, for a clip's marker:N; else NULL */
} ExportPass;

/* Memory stays bounded whatever the session holds: at most this many
 * chapters, titles of at most CHAPTER_TITLE_MAX characters. */
#define MAX_CHAPTERS      10000
#define CHAPTER_TITLE_MAX 200

/* A marker as an MP4 chapter: its offset from the first record (as the
 * report's event list gives it) and its title, the marker's time and text. */
typedef struct {
  gint64  offset_us;
  char   *title;
} Chapter;

static void
chapter_clear(gpointer p)
{
  g_free(((Chapter *) p)->title);
}

/* The marker's wall-clock time, as UTC with its offset, then its text
 * (escaped as in the report). */
static char *
chapter_title(const HvRecordHeader *rh, const guint8 *payload)
{
  g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(rh->wall_us / G_USEC_PER_SEC);
  g_autofree char *when = dt ? g_date_time_format(dt, "%Y-%m-%d %H:%M:%S %:z") : g_strdup("(invalid time)");
  g_autofree char *text = hv_text_escape((const char *) payload, rh->length);
  if (g_utf8_strlen(text, -1) > CHAPTER_TITLE_MAX) {   /* the report's event list has it whole */
    g_autofree char *cut = g_utf8_substring(text, 0, CHAPTER_TITLE_MAX - 1);
    return g_strdup_printf("%s %s\u2026", when, cut);
  }
  return g_strdup_printf("%s %s", when, text);
}

static gboolean
export_record(const HvRecordHeader *rh, const guint8 *payload, gpointer user_data, GError **error)
{
  ExportPass *x = user_data;
  if (!x->have_first) {
    x->have_first = TRUE;
    x->first_mono_us = rh->mono_us;
  }
  if (rh->type == HV_RECORD_MEDIA && x->records) {   /* where its plaintext begins: a clip's record range */
    HvClipRecord r = { .index = rh->index, .offset = hv_decryptor_plain_bytes(x->dec) };
    g_array_append_val(x->records, r);
  }
  if (rh->type == HV_RECORD_MEDIA)
    return hv_decryptor_on_record(rh, payload, x->dec, error);
  if (rh->type == HV_EVENT_MARKER && x->markers) {   /* marker:N is the session's marker N, as verify-clip reads it */
    gint64 off = (gint64) (rh->mono_us - x->first_mono_us);
    g_array_append_val(x->markers, off);
  }
  if (rh->type == HV_EVENT_MARKER && x->chapters->len >= MAX_CHAPTERS) {
    x->markers_not_chapters++;
  } else if (rh->type == HV_EVENT_MARKER) {
    Chapter c = { .offset_us = (gint64) (rh->mono_us - x->first_mono_us), .title = chapter_title(rh, payload) };
    g_array_append_val(x->chapters, c);
  }
  g_autofree char *t = hv_cli_format_time(rh->wall_us);
  g_autofree char *rel = hv_cli_format_duration(rh->mono_us - x->first_mono_us);
  g_string_printf(x->line, "  %s  +%s  %-13s ", t, rel, hv_record_type_name(rh->type));
  hv_text_escape_append(x->line, (const char *) payload, rh->length);
  g_string_append_c(x->line, '\n');
  gboolean ok = fwrite(x->line->str, 1, x->line->len, x->events) == x->line->len;
  g_string_truncate(x->line, 0);
  hv_report_html_event_row(x->line, t, rel, hv_record_type_name(rh->type), (const char *) payload, rh->length);
  if (!ok || fwrite(x->line->str, 1, x->line->len, x->html_rows) != x->line->len) {
    g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_IO, "writing the report's event list: %s",
                g_strerror(errno));
    return FALSE;
  }
  return TRUE;
}

typedef struct {
  HvSha256 *sum;
  HvTsScan *scan;   /* a clip's keyframes; NULL: no clip */
} PlainSink;

/* Each chunk of plaintext, once written to the .ts file, is hashed for the
 * report (and scanned for keyframes for a clip). */
static gboolean
export_plain(const guint8 *plain, gsize len, gpointer user_data, GError **error)
{
  PlainSink *ps = user_data;
  hv_sha256_update(ps->sum, plain, len);
  if (ps->scan)
    hv_ts_scan_feed(ps->scan, plain, len);
  return TRUE;
}

/* Remux the exported MPEG-TS to the MP4 working copy (markers as chapters,
 * no torn frame) and describe in tail what it holds and what it leaves out. */
static gboolean
export_mp4(const char *ts_path, const char *mp4_path, gboolean interrupted, const ExportPass *pass,
           const HvTsCut *cut, GString *tail, HvReportHtml *html, GError **error)
{
  GArray *chapters = pass->chapters;
  /* a clip's chapters: the markers within it, from its start; the whole
   * session's: every marker */
  gint64 from_us = cut ? cut->start_us : 0;
  gint64 to_us = cut && cut->end_us >= 0 ? cut->end_us : G_MAXINT64;
  g_autofree HvRemuxChapter *ch = g_new0(HvRemuxChapter, MAX(chapters->len, 1));
  g_autofree guint *marker_of = g_new0(guint, MAX(chapters->len, 1));
  guint n = 0;
  for (guint i = 0; i < chapters->len; i++) {
    const Chapter *c = &g_array_index(chapters, Chapter, i);
    if (cut && (c->offset_us < from_us || c->offset_us >= to_us))
      continue;
    marker_of[n] = i;
    ch[n++] = (HvRemuxChapter) { .start_us = c->offset_us - from_us, .title = c->title };
  }
  /* a stream that did not end with a clean stop may end inside a frame */
  /* a clip's MP4 starts at the clip's first keyframe, not at the start of the recording */
  g_autofree char *clip_at = cut ? hv_cli_format_duration((guint64) MAX(from_us, 0)) : NULL;
  g_autofree char *start_title = cut ? g_strdup_printf("Start of the clip (+%s in the recording)", clip_at)
                                     : NULL;
  HvRemuxOptions ro = { .interrupted = interrupted, .chapters = ch, .n_chapters = n,
                        .start_title = start_title };
  HvRemuxResult res;
  if (!hv_remux_process_run(ts_path, mp4_path, &ro, &res, error))
    return FALSE;
  /* each line of the text report is one note of the HTML one */
  g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func(g_free);
  g_autofree char *vdur = hv_cli_format_duration((guint64) res.video_us);
  g_autofree char *adur = hv_cli_format_duration((guint64) res.audio_us);
  g_ptr_array_add(lines, g_strdup_printf("MP4 working copy: fast start, video %s, audio %s, %u %s.",
                                         res.has_video ? vdur : "none", res.has_audio ? adur : "none",
                                         res.chapters, hv_cli_plural(res.chapters, "chapter", "chapters")));
  if (res.video_frames_dropped)
    g_ptr_array_add(lines, g_strdup_printf("Last %.3f s of video (%u %s) ends at the interruption and may be "
                                           "incomplete: not included in the MP4; the sealed TS keeps every "
                                           "byte.", res.video_dropped_us / 1e6, res.video_frames_dropped,
                                           hv_cli_plural(res.video_frames_dropped, "frame", "frames")));
  if (res.audio_frames_dropped)
    g_ptr_array_add(lines, g_strdup_printf("%.3f s of audio (%u %s) incomplete%s: not included in the MP4; "
                                           "the sealed TS keeps every byte.", res.audio_dropped_us / 1e6,
                                           res.audio_frames_dropped,
                                           hv_cli_plural(res.audio_frames_dropped, "frame", "frames"),
                                           ro.interrupted ? " at the interruption" : ""));
  /* beyond MAX_CHAPTERS, or more than the MP4 has room for (one a millisecond) */
  guint64 not_chapters = pass->markers_not_chapters + (n - res.chapters_given);
  if (not_chapters)
    g_ptr_array_add(lines, g_strdup_printf("Only the first %u markers are chapters; the %" G_GUINT64_FORMAT
                                           " after them are in the event list only.", res.chapters_given,
                                           not_chapters));
  g_string_append_c(tail, '\n');
  for (guint i = 0; i < lines->len; i++) {
    g_string_append_printf(tail, "%s\n", (const char *) lines->pdata[i]);
    hv_report_html_note(html, lines->pdata[i]);
  }
  if (res.chapters_given) {
    /* a clip's chapters are at their time in the clip's MP4 (where a player
     * seeks), which is not their offset in the recording: both are given */
    g_autoptr(GString) note = g_string_new(cut ? "MP4 chapters (time in the clip's MP4; offset from the first "
                                                 "record of the recording):"
                                               : "MP4 chapters (offset from the first record):");
    g_string_append(tail, cut ? "MP4 chapters (the markers within the clip; time in the clip's MP4, then offset "
                                "from the first record of the recording):\n"
                              : "MP4 chapters (one per marker; offset from the first record):\n");
    if (res.chapters > res.chapters_given) {   /* the muxer's chapter at 0, before the first marker */
      g_autofree char *at = hv_cli_format_duration((guint64) from_us);
      const char *title = start_title ? start_title : HV_REMUX_START_CHAPTER;
      if (cut) {
        g_string_append_printf(tail, "   0  00:00:00.0 in the clip  +%s  %s\n", at, title);
        g_string_append_printf(note, " 0. 00:00:00.0 in the clip, +%s %s;", at, title);
      } else {
        g_string_append_printf(tail, "   0  +%s  %s\n", at, title);
        g_string_append_printf(note, " 0. +%s %s;", at, title);
      }
    }
    for (guint k = 0; k < res.chapters_given; k++) {
      guint i = marker_of[k];
      const Chapter *c = &g_array_index(chapters, Chapter, i);
      g_autofree char *off = hv_cli_format_duration((guint64) MAX(c->offset_us, 0));
      if (cut) {
        g_autofree char *in = hv_cli_format_duration((guint64) MAX(ch[k].start_us, 0));
        g_string_append_printf(tail, "  %2u  %s in the clip  +%s  %s\n", i + 1, in, off, c->title);
        g_string_append_printf(note, "%s %u. %s in the clip, +%s %s", k ? ";" : "", i + 1, in, off, c->title);
      } else {
        g_string_append_printf(tail, "  %2u  +%s  %s\n", i + 1, off, c->title);
        g_string_append_printf(note, "%s %u. +%s %s", k ? ";" : "", i + 1, off, c->title);
      }
    }
    hv_report_html_note(html, note->str);
  }
  return TRUE;
}

/* Write custody-report.txt in dir: head, the streamed event lines, tail. */
static gboolean
write_report(const char *dir, const GString *head, FILE *events, const GString *tail, GError **error)
{
  g_autofree char *path = g_build_filename(dir, "custody-report.txt", NULL);
  FILE *out = fopen(path, "wxe");
  gboolean ok = out != NULL && fwrite(head->str, 1, head->len, out) == head->len;
  if (ok && fflush(events) == 0 && fseek(events, 0, SEEK_SET) == 0) {
    char buf[1 << 16];
    size_t n;
    while (ok && (n = fread(buf, 1, sizeof buf, events)) > 0)
      ok = fwrite(buf, 1, n, out) == n;
    ok = ok && !ferror(events);
  } else {
    ok = FALSE;
  }
  ok = ok && fwrite(tail->str, 1, tail->len, out) == tail->len && fflush(out) == 0 &&
       fsync(fileno(out)) == 0;
  int saved = errno;
  if (out && fclose(out) != 0 && ok) {
    saved = errno;
    ok = FALSE;
  }
  if (!ok)
    g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_IO, "%s: %s", path, g_strerror(saved));
  return ok && hv_dir_sync(dir, error);
}

typedef struct {
  char *identity;
  char *out;
  char *device_key;
  char *expect;
  char *ref;
  char *to;
  char *custody_log;
  char *from, *until;   /* a clip (FORMAT §14); NULL: the whole session */
} Options;

/* A time of the recording as the report prints it ("00:01:30.0"). */
static char *
clip_time(gint64 us)
{
  return hv_cli_format_duration((guint64) MAX(us, 0));
}

typedef struct {
  int       fd;
  HvSha256 *sum;
} ClipOut;

static gboolean
clip_write(const guint8 *data, gsize len, gpointer user_data, GError **error)
{
  ClipOut *co = user_data;
  hv_sha256_update(co->sum, data, len);
  while (len > 0) {
    ssize_t n = write(co->fd, data, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "writing the clip: %s", g_strerror(errno));
      return FALSE;
    }
    data += n;
    len -= (gsize) n;
  }
  return TRUE;
}

/* Copy the clip out of the written stream at ts_path into clip_path (0600),
 * hashing it. */
static gboolean
clip_extract(const char *ts_path, const char *clip_path, HvClipInfo *ci, GError **error)
{
  int in = open(ts_path, O_RDONLY | O_CLOEXEC);
  if (in < 0) {
    g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "%s: %s", ts_path, g_strerror(errno));
    return FALSE;
  }
  g_autoptr(HvSha256) sum = hv_sha256_new();
  ClipOut co = { open(clip_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600), sum };
  if (co.fd < 0) {
    g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "%s: %s", clip_path, g_strerror(errno));
    close(in);
    return FALSE;
  }
  g_autoptr(HvTsExtract) x = hv_ts_extract_new(&ci->cut, clip_write, &co);
  g_autofree guint8 *buf = g_malloc(1 << 20);
  gboolean ok = TRUE, failed = FALSE;
  guint64 at = 0;
  while (ok && at < ci->cut.end) {
    ssize_t n = read(in, buf, 1 << 20);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      if (n < 0) {
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "%s: %s", ts_path, g_strerror(errno));
        failed = TRUE;
      }
      break;
    }
    ok = hv_ts_extract_feed(x, buf, (gsize) n, error);
    at += (guint64) n;
  }
  ok = ok && !failed && hv_ts_extract_finish(x, error);
  if (ok && fsync(co.fd) < 0) {
    g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "%s: %s", clip_path, g_strerror(errno));
    ok = FALSE;
  }
  close(co.fd);
  close(in);
  if (!ok)
    return FALSE;
  ci->ts_sha256 = hv_sha256_finish(sum);
  ci->ts_bytes = hv_ts_cut_length(&ci->cut);
  return TRUE;
}

/* --from/--until (FORMAT §14): resolve the points, cut the written stream,
 * write the clip's TS and clip.json in tmpl, remove the whole stream, and
 * name the MP4 after the clip. Returns an exit status (HV_EXIT_OK or the
 * failure's, with error). */
static int
export_clip(const Options *o, const HvVerdict *v, const ExportPass *pass, const HvTsScan *scan, const char *tmpl,
            const char *base, const char *stream_sum, char **ts_name, char **ts_path, char **mp4_name,
            char **mp4_path, HvClipInfo *ci, GError **error)
{
  /* every marker, also those beyond the chapters the MP4 holds */
  const gint64 *markers = (const gint64 *) (void *) pass->markers->data;
  guint n_markers = pass->markers->len;
  ci->from = g_strdup(o->from ? o->from : "0");
  ci->until = g_strdup(o->until ? o->until : "end");
  ci->to_us = G_MAXINT64;
  if (!hv_clip_parse_point("--from", ci->from, markers, n_markers, &ci->from_us, error)
      || (g_strcmp0(ci->until, "end") != 0   /* as clip.json and the report give it when not given */
          && !hv_clip_parse_point("--until", ci->until, markers, n_markers, &ci->to_us, error)))
    return HV_EXIT_USAGE;
  if (!hv_ts_scan_cut(scan, ci->from_us, ci->to_us, &ci->cut, error)) {
    g_prefix_error(error, "no clip: ");
    return HV_EXIT_USAGE;
  }
  if (pass->records->len == 0) {
    g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "no clip: the session has no media record");
    return HV_EXIT_USAGE;
  }
  hv_clip_info_set_records(ci, pass->records);
  ci->fingerprint = g_strdup(v->fingerprint);
  ci->status = g_strdup(hv_status_name(v->seal.status));
  ci->stream_bytes = hv_ts_scan_bytes(scan);
  ci->stream_sha256 = g_strdup(stream_sum);
  g_autofree char *t0 = g_strdup_printf("%" G_GINT64_FORMAT ".%" G_GINT64_FORMAT "s", ci->cut.start_us / G_USEC_PER_SEC,
                                        ci->cut.start_us / 100000 % 10);
  g_autofree char *t1 = ci->cut.end_us < 0 ? g_strdup("end")
                                           : g_strdup_printf("%" G_GINT64_FORMAT ".%" G_GINT64_FORMAT "s",
                                                             ci->cut.end_us / G_USEC_PER_SEC,
                                                             ci->cut.end_us / 100000 % 10);
  /* named by the cut (seconds from the start, to a tenth) */
  g_autofree char *stem = g_strdup_printf("%s-clip-%s-%s", base, t0, t1);
  ci->ts_name = g_strdup_printf("%s.ts", stem);
  g_autofree char *clip_ts = g_build_filename(tmpl, ci->ts_name, NULL);
  if (!clip_extract(*ts_path, clip_ts, ci, error))
    return HV_EXIT_USAGE;
  /* the whole stream is not part of a clip export */
  (void) g_unlink(*ts_path);
  g_free(*ts_name);
  g_free(*ts_path);
  *ts_name = g_strdup(ci->ts_name);
  *ts_path = g_steal_pointer(&clip_ts);
  g_autofree char *new_mp4 = g_strdup_printf("%s.mp4", stem);
  g_autofree char *new_mp4_path = g_build_filename(tmpl, new_mp4, NULL);
  if (rename(*mp4_path, new_mp4_path) < 0) {   /* created 0600 before the pass */
    g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "%s: %s", new_mp4_path, g_strerror(errno));
    return HV_EXIT_USAGE;
  }
  g_free(*mp4_name);
  g_free(*mp4_path);
  *mp4_name = g_steal_pointer(&new_mp4);
  *mp4_path = g_steal_pointer(&new_mp4_path);
  g_autofree char *json = hv_clip_info_to_json(ci);
  g_autofree char *json_path = g_build_filename(tmpl, HV_CLIP_JSON, NULL);
  if (!g_file_set_contents_full(json_path, json, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, error))
    return HV_EXIT_USAGE;
  return HV_EXIT_OK;
}

/* The clip's provenance in the report (FORMAT §14). */
static void
clip_report(const HvClipInfo *ci, GString *tail, HvReportHtml *html)
{
  g_autofree char *from = hv_text_escape(ci->from, -1);
  g_autofree char *until = hv_text_escape(ci->until, -1);
  g_autofree char *a = clip_time(ci->cut.start_us);
  g_autofree char *end = ci->cut.end_us < 0 ? NULL : clip_time(ci->cut.end_us);
  g_autofree char *b = end ? g_strdup_printf("the keyframe at +%s (not included)", end)
                           : g_strdup("the end of the recording");
  g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func(g_free);
  g_ptr_array_add(lines, g_strdup_printf("CLIP of the session (docs/FORMAT.md section 14), asked --from %s --until %s: "
                                         "from the keyframe at +%s to %s.", from, until, a, b));
  g_ptr_array_add(lines, g_strdup_printf(
    "Clip stream bytes %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT " of the %" G_GUINT64_FORMAT "-byte "
    "plaintext stream (SHA-256 %s), in media records %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT
    "; prepended: the PAT at byte %" G_GINT64_FORMAT " (record %" G_GINT64_FORMAT ") and the PMT at byte %"
    G_GINT64_FORMAT " (record %" G_GINT64_FORMAT ").", ci->cut.start, ci->cut.end, ci->stream_bytes,
    ci->stream_sha256, ci->first.index, ci->last.index, ci->cut.pat, ci->pat_record, ci->cut.pmt,
    ci->pmt_record));
  g_ptr_array_add(lines, g_strdup_printf("Clip TS %s: %" G_GUINT64_FORMAT " bytes, SHA-256 %s; clip.json has "
                                         "the cut, and 'haven verify-clip DIR SESSION --identity KEY' re-derives "
                                         "the clip byte for byte from the sealed session.", ci->ts_name,
                                         ci->ts_bytes, ci->ts_sha256));
  g_string_append_c(tail, '\n');
  for (guint i = 0; i < lines->len; i++) {
    g_string_append_printf(tail, "%s\n", (const char *) lines->pdata[i]);
    hv_report_html_note(html, lines->pdata[i]);
  }
}

static int
refuse(const char *tmpl, int code, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

/* Print the reason, remove the partial export, return the exit status. */
static int
refuse(const char *tmpl, int code, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  g_autofree char *msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  g_autofree char *safe = hv_text_escape(msg, -1);
  hv_cli_error("export", "%s", safe);
  if (tmpl)
    rm_rf(tmpl);
  return code;
}

static int
export_session(const char *session, const Options *o)
{
  g_autoptr(GError) err = NULL;
  g_autoptr(HvIdentity) id = hv_identity_load(o->identity, &err);
  if (!id)
    return refuse(NULL, HV_EXIT_USAGE, "--identity: %s", err->message);
  guint8 device_pk[HV_DEVICE_PK_SIZE];
  if (o->device_key && !hv_device_pubkey_load(o->device_key, device_pk, &err))
    return refuse(NULL, HV_EXIT_USAGE, "--device-key: %s", err->message);
  g_autofree char *want = NULL;
  if (o->expect && !(want = hv_fingerprint_normalise(o->expect)))
    return refuse(NULL, HV_EXIT_USAGE, "--expect: '%s' is not a fingerprint (20 letters A-Z and "
                  "digits 2-7, grouped by 4)", o->expect);
  if (g_file_test(o->out, G_FILE_TEST_EXISTS) || g_file_test(o->out, G_FILE_TEST_IS_SYMLINK))
    return refuse(NULL, HV_EXIT_USAGE, "%s: already exists, refusing to overwrite", o->out);
  if (!hv_custody_text_check("--ref", o->ref, &err) || !hv_custody_text_check("--to", o->to, &err))
    return refuse(NULL, HV_EXIT_USAGE, "%s", err->message);
  /* The custody log is opened (and its chain checked) before anything is
   * decrypted: an export that cannot be recorded is not made. */
  g_autoptr(HvCustodyWriter) custody = NULL;
  g_autoptr(GError) custody_err = NULL;
  /* a session with no seal to chain to is for the verification to judge */
  if (id->sign_sk && !(custody = hv_custody_writer_open(session, o->custody_log, &custody_err)) &&
      !g_error_matches(custody_err, HV_CUSTODY_ERROR, HV_CUSTODY_ERROR_SESSION))
    return refuse(NULL, HV_EXIT_USAGE, "%s", custody_err->message);
  g_autofree char *other_signers = custody ? hv_custody_writer_other_signers(custody, id->sign_pk) : NULL;
  /* The key is checked against the header first, so a wrong key leaves nothing
   * behind; then one pass verifies and decrypts, and an INVALID verdict
   * discards everything decrypted. */
  const guint8 *pin = o->device_key ? device_pk : NULL;
  /* without --device-key: an enrolled device is pinned to its trusted key */
  g_autoptr(HvTrustedDevice) enrolled = NULL;
  if (!pin) {
    g_autofree char *trust_dir = hv_trust_dir();
    enrolled = hv_trust_lookup_session(trust_dir, session, &err);
    if (err)
      return refuse(NULL, HV_EXIT_USAGE, "%s", err->message);
    if (enrolled)
      pin = enrolled->pk;
  }
  HvHeader header;
  if (!hv_vault_read_header(session, pin, &header, &err)) {
    gboolean io = !g_file_test(session, G_FILE_TEST_IS_DIR);
    return refuse(NULL, io ? HV_EXIT_USAGE : HV_EXIT_INTEGRITY, "%s%s",
                  io ? "" : "refusing to export an INVALID session: ", err->message);
  }
  g_autoptr(HvDecryptor) dec = hv_decryptor_new(&header, id, -1, &err);
  if (!dec && g_error_matches(err, HV_VAULT_ERROR, HV_VAULT_ERROR_KEY) && header.n_recipients > 0) {
    /* name the keys that would open it, as 'haven key info' shows them */
    g_autoptr(GString) ids = g_string_new(NULL);
    for (guint i = 0; i < header.n_recipients; i++) {
      g_autofree char *rid = hv_key_id(header.recipients[i].recipient_pk, HV_RECIPIENT_PK_SIZE);
      g_string_append_printf(ids, "%s%s", i ? ", " : "", rid);
    }
    g_autofree char *kid = hv_key_id(id->pk, HV_RECIPIENT_PK_SIZE);
    return refuse(NULL, HV_EXIT_USAGE, "%s: identity %s is not one of this session's recipients (wrong key "
                  "file?): the session's %s %s", session, kid,
                  header.n_recipients == 1 ? "recipient is key id" : "recipients are key ids", ids->str);
  }
  if (!dec)
    return refuse(NULL, err->code == HV_VAULT_ERROR_COMMITMENT ? HV_EXIT_INTEGRITY : HV_EXIT_USAGE,
                  "%s: %s", session, err->message);
  /* only once this identity opens the session: a wrong key file gets its error alone */
  if (other_signers) {
    g_autofree char *log = hv_text_escape(hv_custody_writer_path(custody), -1);
    g_printerr("haven export: warning: %s holds entries signed by other keys (%s); check them with "
               "'haven custody verify --signer KEY.sign.pub ...'\n", log, other_signers);
  }

  g_autofree char *tmpl = g_strdup_printf("%s.partial-XXXXXX", o->out);
  if (!g_mkdtemp_full(tmpl, 0700))
    return refuse(NULL, HV_EXIT_USAGE, "%s: %s", o->out, g_strerror(errno));
  g_autofree char *abs = g_canonicalize_filename(session, NULL);
  /* the directory name carries no trust (FORMAT.md §1): keep it readable as a
   * file name, never let it put control characters or a path into one */
  g_autofree char *base = g_path_get_basename(abs);
  g_strcanon(base, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+", '_');
  g_autofree char *ts_name = g_strdup_printf("%s.ts", base);
  g_autofree char *mp4_name = g_strdup_printf("%s.mp4", base);
  g_autofree char *ts_path = g_build_filename(tmpl, ts_name, NULL);
  g_autofree char *mp4_path = g_build_filename(tmpl, mp4_name, NULL);
  int fd = open(ts_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    return refuse(tmpl, HV_EXIT_USAGE, "%s: %s", ts_path, g_strerror(errno));
  g_autoptr(FILE) events = tmpfile();
  g_autoptr(FILE) html_rows = tmpfile();
  if (!events || !html_rows) {
    close(fd);
    return refuse(tmpl, HV_EXIT_USAGE, "scratch file for the event list: %s", g_strerror(errno));
  }
  hv_decryptor_set_output(dec, fd);
  /* The MP4 is plaintext too: created 0600 like the MPEG-TS, so that the
   * muxer (which opens it for writing) keeps that mode whatever the umask. */
  int mp4_fd = open(mp4_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (mp4_fd < 0) {
    int e = errno;
    close(fd);
    return refuse(tmpl, HV_EXIT_USAGE, "%s: %s", mp4_path, g_strerror(e));
  }
  close(mp4_fd);
  g_autoptr(GError) remux_err = NULL;
  g_autoptr(HvSha256) ts_sum = hv_sha256_new();
  gboolean clip = o->from || o->until;
  g_autoptr(HvTsScan) scan = clip ? hv_ts_scan_new() : NULL;
  g_autoptr(GArray) records = clip ? g_array_new(FALSE, FALSE, sizeof(HvClipRecord)) : NULL;
  g_autoptr(GArray) marker_us = clip ? g_array_new(FALSE, FALSE, sizeof(gint64)) : NULL;
  PlainSink psink = { ts_sum, scan };
  hv_decryptor_set_sink(dec, export_plain, &psink);
  g_autoptr(GString) line = g_string_sized_new(4 * HV_EVENT_MAX + 128);
  g_autoptr(GArray) chapters = g_array_new(FALSE, FALSE, sizeof(Chapter));
  g_array_set_clear_func(chapters, chapter_clear);
  ExportPass pass = { .dec = dec, .events = events, .html_rows = html_rows, .line = line,
                      .chapters = chapters, .records = records, .markers = marker_us };
  HvVerifyOptions vo = { .expected_device_pk = pin, .on_record = export_record, .user_data = &pass,
                         .threads = HV_VERIFY_ALL_CPUS };
  g_autoptr(HvVerdict) v = hv_vault_verify(session, &vo, &err);
  gboolean synced = fsync(fd) == 0;
  int sync_errno = errno;
  close(fd);
  if (v && v->intact && want && g_strcmp0(v->fingerprint, want) != 0)
    return refuse(tmpl, HV_EXIT_INTEGRITY, "refusing to export: %s: fingerprint is %s, not the expected "
                  "%s (a different session, or the paper record was misread)", session, v->fingerprint,
                  want);
  if (v && !v->intact && v->problem_code == HV_VAULT_ERROR_IO)   /* a full disk, a read error: not evidence */
    return refuse(tmpl, HV_EXIT_USAGE, "%s: nothing exported: %s", session, v->problem);
  if (v && !v->intact)
    return refuse(tmpl, HV_EXIT_INTEGRITY, "refusing to export an INVALID session: %s: %s", session,
                  v->problem);
  if (!v || !synced)
    return refuse(tmpl, HV_EXIT_USAGE, "%s: %s", session, !v ? err->message : g_strerror(sync_errno));
  if (v->seal.status == HV_STATUS_COMPLETE && !hv_decryptor_saw_final(dec))
    return refuse(tmpl, HV_EXIT_INTEGRITY, "%s: COMPLETE session without a final chunk", session);
  if (id->sign_sk && !custody)
    return refuse(tmpl, HV_EXIT_USAGE, "%s", custody_err->message);

  g_autoptr(HvReportHtml) html = hv_report_html_new();
  g_autoptr(GString) tail = g_string_new(NULL);
  /* a session that did not end with a clean stop may end inside a frame */
  gboolean interrupted = v->seal.status != HV_STATUS_COMPLETE;
  g_autofree char *first_sum = NULL;
  g_auto(HvClipInfo) ci = { 0 };
  if (clip) {
    g_autofree char *stream_sum = hv_sha256_finish(ts_sum);
    int code = export_clip(o, v, &pass, scan, tmpl, base, stream_sum, &ts_name, &ts_path, &mp4_name, &mp4_path,
                           &ci, &err);
    if (code != HV_EXIT_OK)
      return refuse(tmpl, code, "%s", err->message);
    interrupted = interrupted && ci.cut.end_us < 0;   /* cut before a keyframe: its last frame is whole */
    first_sum = g_strdup(ci.ts_sha256);
    clip_report(&ci, tail, html);
  }
  gboolean mp4_ok = export_mp4(ts_path, mp4_path, interrupted, &pass, clip ? &ci.cut : NULL, tail, html, &remux_err);
  if (!mp4_ok) {
    (void) g_unlink(mp4_path);
    g_autofree char *m = hv_text_escape(remux_err->message, -1);
    g_printerr("haven export: MP4 working copy NOT produced: %s; the verified MPEG-TS original and the "
               "report are exported (exit status 4)\n", m);
  }
  g_autofree char *abs_out = g_canonicalize_filename(o->out, NULL);
  ReportContext rc = { .id = id, .pinned = pin != NULL, .enrolled = enrolled, .expected = want != NULL, .source = abs,
                       .ref = o->ref, .to = o->to,
                       .custody_log = custody ? hv_custody_writer_path(custody) : NULL,
                       .custody_seq = custody ? hv_custody_writer_next_seq(custody) : 0,
                       .clip = clip ? &ci : NULL };
  g_autoptr(GString) head = custody_head(v, &rc, html, &err);
  if (!head)
    return refuse(tmpl, HV_EXIT_USAGE, "hashing the sealed source files: %s", err->message);
  if (!mp4_ok) {
    g_autofree char *m = hv_text_escape(remux_err->message, -1);
    g_string_append_printf(tail, "\nMP4 working copy NOT produced: %s\n", m);
    g_autofree char *note = g_strdup_printf("MP4 working copy NOT produced: %s", remux_err->message);
    hv_report_html_note(html, note);
  }
  g_string_append_printf(tail, "\nFiles (SHA-256):\n");
  g_autoptr(GPtrArray) produced = g_ptr_array_new_with_free_func((GDestroyNotify) hv_custody_file_free);
  const char *mp4_file = mp4_ok ? mp4_name : NULL;
  const char *files[] = { ts_name, clip ? HV_CLIP_JSON : mp4_file, clip ? mp4_file : NULL };
  if (!first_sum)
    first_sum = hv_sha256_finish(ts_sum);
  for (guint i = 0; i < G_N_ELEMENTS(files) && files[i]; i++) {
    g_autofree char *p = g_build_filename(tmpl, files[i], NULL);
    g_autofree char *sum = i == 0 ? g_strdup(first_sum) : hv_sha256_file(p, &err);
    if (!sum)
      return refuse(tmpl, HV_EXIT_USAGE, "%s", err->message);
    g_autofree char *name = hv_text_escape(files[i], -1);
    g_string_append_printf(tail, "  %s  %s\n", sum, name);
    hv_report_html_output_file(html, files[i], sum);
    g_ptr_array_add(produced, hv_custody_file_new(files[i], file_size(p), sum));
  }
  if (id->sign_sk) {
    g_autofree char *signer = hv_key_id(id->sign_pk, HV_SIGNER_PK_SIZE);
    g_autofree char *note = g_strdup_printf("Signed: custody-report.txt and custody-report.html carry "
                                            "detached Ed25519 signatures (custody-report.txt.sig, "
                                            "custody-report.html.sig) by custodian signing key %s; check "
                                            "them with 'haven custody verify-report'.", signer);
    g_string_append_printf(tail, "\n%s\n", note);
    hv_report_html_note(html, note);
  } else {
    const char *note = "NOT SIGNED: the identity has no signing key ('haven keygen --upgrade KEYFILE' adds one).";
    g_string_append_printf(tail, "\n%s\n", note);
    hv_report_html_note(html, note);
  }
  if (!write_report(tmpl, head, events, tail, &err))
    return refuse(tmpl, HV_EXIT_USAGE, "%s", err->message);
  g_autofree char *html_path = g_build_filename(tmpl, "custody-report.html", NULL);
  if (!hv_report_html_write(html, html_path, html_rows, &err))
    return refuse(tmpl, HV_EXIT_USAGE, "%s", err->message);
  static const char *const reports[] = { "custody-report.txt", "custody-report.html" };
  for (guint i = 0; i < G_N_ELEMENTS(reports); i++) {
    g_autofree char *p = g_build_filename(tmpl, reports[i], NULL);
    if (id->sign_sk && !hv_report_sign(p, id, &err))
      return refuse(tmpl, HV_EXIT_USAGE, "%s", err->message);
    g_autofree char *sum = hv_sha256_file(p, &err);
    if (!sum)
      return refuse(tmpl, HV_EXIT_USAGE, "%s", err->message);
    g_ptr_array_add(produced, hv_custody_file_new(reports[i], file_size(p), sum));
  }
  if (!hv_dir_sync(tmpl, &err))
    return refuse(tmpl, HV_EXIT_USAGE, "%s", err->message);
  if (rename(tmpl, o->out) < 0)
    return refuse(tmpl, HV_EXIT_USAGE, "%s: %s", o->out, g_strerror(errno));
  /* recorded once the export is in place; if it cannot be, the export goes */
  if (custody && !hv_custody_writer_append(custody, id, "export", o->to, o->ref, abs_out, produced, &err))
    return refuse(o->out, HV_EXIT_USAGE, "the export was removed: its custody event could not be recorded: "
                  "%s", err->message);
  if (!id->sign_sk)
    g_printerr("haven export: warning: %s has no signing key: no custody event was recorded and the "
               "report is not signed ('haven keygen --upgrade %s' adds a signing key, keeping its "
               "decryption key)\n", o->identity, o->identity);
  g_autofree char *rep_path = g_build_filename(o->out, "custody-report.txt", NULL);
  g_autofree char *final_mp4 = g_build_filename(o->out, mp4_name, NULL);
  g_autofree char *dev = device_line(&v->header, pin != NULL, enrolled);
  printf("verdict:     %s\nfingerprint: %s%s\ndevice:      %s\nexported:    %s\nmp4:         %s\n"
         "report:      %s\n", hv_status_name(v->seal.status), v->fingerprint,
         want ? " (as expected)" : " (not compared: no --expect given)", dev, o->out,
         mp4_ok ? final_mp4 : "NOT produced (see the report)", rep_path);
  if (clip)
    printf("clip:        %s (stream bytes %" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT ", records %" G_GUINT64_FORMAT
           "-%" G_GUINT64_FORMAT ")\n", ci.ts_name, ci.cut.start, ci.cut.end, ci.first.index, ci.last.index);
  if (custody)
    printf("custody:     entry %" G_GUINT64_FORMAT " of %s\n", hv_custody_writer_next_seq(custody) - 1,
           hv_custody_writer_path(custody));
  return mp4_ok ? HV_EXIT_OK : HV_EXIT_PARTIAL;
}

int
hv_cmd_export(int argc, char **argv)
{
  Options o = { 0 };
  GOptionEntry entries[] = {
    { "identity", 'i', 0, G_OPTION_ARG_FILENAME, &o.identity,
      "Custodian identity file (from 'haven keygen')", "KEYFILE" },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &o.out, "Directory to create for the export", "DIR" },
    { "device-key", 0, 0, G_OPTION_ARG_FILENAME, &o.device_key,
      "Require the session to be signed by this device (its .pub file)", "FILE" },
    { "expect", 0, 0, G_OPTION_ARG_STRING, &o.expect,
      "Require this fingerprint (from the paper interview record)", "FP" },
    { "ref", 0, 0, G_OPTION_ARG_STRING, &o.ref, "Case/exhibit reference for the report and custody log",
      "TEXT" },
    { "to", 0, 0, G_OPTION_ARG_STRING, &o.to, "Who the export is for (court, recipient)", "TEXT" },
    { "custody-log", 0, 0, G_OPTION_ARG_FILENAME, &o.custody_log,
      "Custody log to append to instead of SESSION/custody.log (a read-only master)", "FILE" },
    { "from", 0, 0, G_OPTION_ARG_STRING, &o.from,
      "Export a clip from this point: a time from the start ([[HH:]MM:]SS[.f]) or marker:N", "POINT" },
    { "until", 0, 0, G_OPTION_ARG_STRING, &o.until, "... up to this point (default: the end)", "POINT" },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new("SESSION - export a session for court");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_option_context_set_description(ctx,
    "Verifies the session first and refuses an INVALID one. Decrypts it with your\n"
    "identity and writes into DIR (which must not exist): the original MPEG-TS stream,\n"
    "an MP4 remuxed without re-encoding, and custody-report.txt (and the printable\n"
    "custody-report.html) with the verdict, fingerprint, events, markers, the SHA-256\n"
    "of the sealed source files and of every exported file. With an identity that\n"
    "has a signing key both reports are signed (REPORT.sig) and a signed custody event\n"
    "is appended to SESSION/custody.log (or --custody-log FILE; a read-only session\n"
    "directory needs it). On any failure nothing is left behind. An INTERRUPTED\n"
    "session exports its intact prefix. The MP4 is fast start, has a chapter per\n"
    "marker, and leaves out a last frame an interruption may have torn (the\n"
    "MPEG-TS keeps every byte; the report says what was left out).\n"
    "--from/--until export a provable clip instead (docs/FORMAT.md section 14): the\n"
    "stream's bytes from the keyframe at or before --from to the keyframe at or after\n"
    "--until (no re-encoding), its MP4, and clip.json naming the byte and record\n"
    "range; 'haven verify-clip' re-derives it from the sealed session.\n"
    "Without --device-key, a session of an enrolled device (haven enroll) is pinned to\n"
    "its key in the trust list; any other is checked against the key in its own header\n"
    "only: the output and the report then say that the device was NOT PINNED.\n"
    "Exit status: 0 exported, 1 integrity failure (INVALID, another device, wrong\n"
    "fingerprint, key commitment), 2 usage or I/O error (a wrong key, a full disk:\n"
    "nothing is left behind), 4 exported without the MP4 working copy (the remux,\n"
    "which runs in its own process, haven-remux, failed or crashed: the verified\n"
    "MPEG-TS original and the report are in DIR, and say so).");
  int ret = HV_EXIT_USAGE;
  if (hv_cli_parse(ctx, &argc, &argv)) {
    if (!o.identity || !o.out || argc != 2)
      hv_cli_error("export", "--identity KEYFILE, --out DIR and one SESSION are required");
    else if (hv_cli_require_session_dir("export", argv[1]))
      ret = export_session(argv[1], &o);
  }
  g_free(o.identity);
  g_free(o.out);
  g_free(o.device_key);
  g_free(o.expect);
  g_free(o.ref);
  g_free(o.to);
  g_free(o.custody_log);
  g_free(o.from);
  g_free(o.until);
  return ret;
}
