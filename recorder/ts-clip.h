/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ts-clip: provable clips of the plaintext MPEG-TS stream (docs/FORMAT.md
 * §14). A clip is a byte range of the stream cut at video keyframes, with the
 * last PAT and PMT before it prepended; nothing is re-encoded or rewritten.
 * The scanner reads the stream once, in pieces of any size, and keeps only
 * the keyframes (offset, time, tables in force); the cut is computed from
 * them; the extractor produces the clip's bytes from a second pass over the
 * stream (or the same one, given the cut beforehand, as verify-clip does).
 * GLib only: no libavformat, no GStreamer.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define HV_TS_CLIP_ERROR hv_ts_clip_error_quark()
GQuark hv_ts_clip_error_quark(void);

typedef enum {
  HV_TS_CLIP_ERROR_STREAM,  /* not the recorder's MPEG-TS, or no H.264 keyframe in it */
  HV_TS_CLIP_ERROR_RANGE,   /* the range asked for is empty or outside the recording */
  HV_TS_CLIP_ERROR_SHORT,   /* the stream ended before the clip did */
} HvTsClipError;

#define HV_TS_PACKET 188

/* Where a clip is cut (stream offsets in bytes; times in microseconds from
 * the first video PES's PTS). */
typedef struct {
  guint64 start, end;   /* [start, end) of the stream */
  gint64  pat, pmt;     /* the packets prepended; -1: none */
  gint64  start_us;     /* time of the keyframe at start */
  gint64  end_us;       /* time of the keyframe at end; -1: the end of the stream */
} HvTsCut;

/* The clip's length in bytes. */
guint64 hv_ts_cut_length(const HvTsCut *cut);

typedef struct HvTsScan HvTsScan;
HvTsScan *hv_ts_scan_new(void);
void hv_ts_scan_free(HvTsScan *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HvTsScan, hv_ts_scan_free)
/* The next bytes of the stream, in order. */
void hv_ts_scan_feed(HvTsScan *s, const guint8 *data, gsize len);
/* Bytes fed; whole packets fed (bytes); keyframes seen; time of the last
 * video PES (us; -1: none). */
guint64 hv_ts_scan_bytes(const HvTsScan *s);
guint64 hv_ts_scan_whole(const HvTsScan *s);
guint   hv_ts_scan_keyframes(const HvTsScan *s);
gint64  hv_ts_scan_last_us(const HvTsScan *s);

/* The cut for [from_us, to_us) by FORMAT §14's rules. */
gboolean hv_ts_scan_cut(const HvTsScan *s, gint64 from_us, gint64 to_us, HvTsCut *cut, GError **error)
  G_GNUC_WARN_UNUSED_RESULT;

/* The clip's bytes, in clip order, from the stream fed in order. */
typedef gboolean (*HvTsClipSink)(const guint8 *data, gsize len, gpointer user_data, GError **error);
typedef struct HvTsExtract HvTsExtract;
HvTsExtract *hv_ts_extract_new(const HvTsCut *cut, HvTsClipSink sink, gpointer user_data);
void hv_ts_extract_free(HvTsExtract *x);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HvTsExtract, hv_ts_extract_free)
gboolean hv_ts_extract_feed(HvTsExtract *x, const guint8 *data, gsize len, GError **error)
  G_GNUC_WARN_UNUSED_RESULT;
/* FALSE (HV_TS_CLIP_ERROR_SHORT) if the stream ended before the clip did. */
gboolean hv_ts_extract_finish(HvTsExtract *x, GError **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
