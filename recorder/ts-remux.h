/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ts-remux: MPEG-TS (H.264 + AAC) to a playable MP4 with libavformat,
 * without re-encoding. Used by export on the custodian's machine (the
 * capture pipeline is GStreamer and does not use it).
 *
 * The MP4 is fast start (moov before mdat), carries the session's markers
 * as chapters, and never holds a frame that is not whole: an AAC frame
 * shorter than its ADTS header says is left out, and when the stream was
 * cut by an interruption its last video access unit (which may end
 * anywhere) is left out too. The MPEG-TS itself is only read.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define HV_REMUX_ERROR hv_remux_error_quark()
GQuark hv_remux_error_quark(void);

typedef enum {
  HV_REMUX_ERROR_INPUT,   /* not MPEG-TS, no H.264 nor AAC in it, nothing to write */
  HV_REMUX_ERROR_OUTPUT,  /* the MP4 could not be written */
} HvRemuxError;

/* The title of the chapter added at 0 when the first starts later (a
 * QuickTime chapter track has no gaps). */
#define HV_REMUX_START_CHAPTER "Start of the recording"

/* One chapter: where it starts in the MP4 (microseconds from its start)
 * and its title (UTF-8). */
typedef struct {
  gint64      start_us;
  const char *title;
} HvRemuxChapter;

typedef struct {
  /* The stream did not end with a clean stop (INTERRUPTED, I/O failure): its
   * last video access unit may be torn and is not written. */
  gboolean              interrupted;
  const HvRemuxChapter *chapters;   /* in start order; may be NULL */
  guint                 n_chapters;
  /* The title of the chapter added at 0; NULL: HV_REMUX_START_CHAPTER (a
   * clip's MP4 starts at the clip, not at the start of the recording). */
  const char           *start_title;
} HvRemuxOptions;

/* What the MP4 holds and what was left out of it. */
typedef struct {
  gboolean has_video, has_audio;
  gint64   video_us, audio_us;          /* durations written */
  guint    video_frames_dropped;        /* last access unit at an interruption */
  gint64   video_dropped_us;
  guint    audio_frames_dropped;        /* AAC frames that are not whole */
  gint64   audio_dropped_us;
  guint    chapters;                    /* chapters written (with the start chapter) */
  guint    chapters_given;              /* of the options' chapters, the first this many are
                                         * written (one a millisecond of media at most) */
} HvRemuxResult;

/* Writes mp4_path (created 0600 if it does not exist; its mode is kept if it
 * does). On failure the partial MP4 is left for the caller to remove. */
gboolean hv_ts_remux_to_mp4(const char *ts_path, const char *mp4_path, const HvRemuxOptions *opts,
                            HvRemuxResult *result, GError **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
