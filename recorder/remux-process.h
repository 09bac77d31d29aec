/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * remux-process: export's TS-to-MP4 remux (ts-remux) run in its own process,
 * haven-remux, the only program that links libavformat. `haven` stays small
 * (libavformat and the codecs it pulls in are some 130 shared libraries and
 * 20 MB of RSS in every process that links them), and the media, which may
 * be hostile, is parsed where a crash cannot take haven with it.
 *
 * The protocol, all of it here so that both ends agree:
 *   haven-remux TS MP4               (argv only, no shell)
 *   stdin:  {"interrupted": BOOL, "chapters": [{"start_us": INT, "title": STR}, ...]}
 *   stdout: {"has_video": BOOL, "has_audio": BOOL, "video_us": INT, "audio_us": INT,
 *            "video_frames_dropped": INT, "video_dropped_us": INT,
 *            "audio_frames_dropped": INT, "audio_dropped_us": INT, "chapters": INT}
 *   exit 0 with that result; otherwise exit 1 and one line "haven-remux: why"
 *   on stderr (2: bad usage).
 * Only this module depends on ts-remux.h's types, not on its code: linking it
 * does not link libavformat.
 */
#pragma once

#include "ts-remux.h"

#include <glib.h>

G_BEGIN_DECLS

#define HV_REMUX_PROCESS_ERROR hv_remux_process_error_quark()
GQuark hv_remux_process_error_quark(void);

typedef enum {
  HV_REMUX_PROCESS_ERROR_FAILED,    /* haven-remux did not run, crashed, or reported a failure */
  HV_REMUX_PROCESS_ERROR_PROTOCOL,  /* what was passed between the two could not be read */
} HvRemuxProcessError;

/* The largest request haven-remux reads (bytes): export passes at most
 * 10,000 chapters of at most 200 characters. */
#define HV_REMUX_PROCESS_REQUEST_MAX (16u << 20)

/* The haven-remux to run: $HAVEN_REMUX, else the one beside the running
 * program (build tree), else HAVEN_LIBEXECDIR's. */
char *hv_remux_process_program(void);

/* How long haven-remux may take on ts_path before it is stopped (seconds):
 * HV_REMUX_TIME_BASE_S plus the stream at HV_REMUX_SLOWEST_BYTES_PER_S (a
 * remux copies; this machine does ~300 MB/s, a Pi 4 from an SD card tens),
 * or $HAVEN_REMUX_TIMEOUT. */
#define HV_REMUX_TIME_BASE_S           60u
#define HV_REMUX_SLOWEST_BYTES_PER_S   (2u << 20)
guint hv_remux_process_time_limit(const char *ts_path);

/* Runs haven-remux on ts_path, writing mp4_path (as hv_ts_remux_to_mp4
 * does), and fills result with what it reports. On failure (the program is
 * missing, exits non-zero, dies of a signal, runs past its time limit, or
 * answers something that is not a result) error says which, with
 * haven-remux's own message. */
gboolean hv_remux_process_run(const char *ts_path, const char *mp4_path, const HvRemuxOptions *opts,
                              HvRemuxResult *result, GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* The request, for haven-remux's stdin (newly allocated). */
char *hv_remux_process_request_to_json(const HvRemuxOptions *opts, gsize *len);

/* What haven-remux read from its stdin: opts points into it. */
typedef struct HvRemuxRequest HvRemuxRequest;
HvRemuxRequest *hv_remux_process_request_parse(const char *json, gsize len, GError **error)
  G_GNUC_WARN_UNUSED_RESULT;
const HvRemuxOptions *hv_remux_request_options(const HvRemuxRequest *req);
void hv_remux_request_free(HvRemuxRequest *req);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HvRemuxRequest, hv_remux_request_free)

/* The result, for haven-remux's stdout (newly allocated, one line). */
char *hv_remux_process_result_to_json(const HvRemuxResult *res);
/* Reads a result; every member must be there with its type, counts and
 * durations not negative. */
gboolean hv_remux_process_result_parse(const char *json, gsize len, HvRemuxResult *res, GError **error)
  G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
