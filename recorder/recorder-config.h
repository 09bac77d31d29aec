/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * recorder-config: the typed, validated settings the recorder runs with.
 * Filled by firmware/config.c from haven.conf (or by tests directly).
 */
#pragma once

#include "vault/vault.h"

G_BEGIN_DECLS

typedef enum { HV_VIDEO_TEST, HV_VIDEO_V4L2, HV_VIDEO_LIBCAMERA } HvVideoKind;
typedef enum { HV_AUDIO_TEST, HV_AUDIO_ALSA, HV_AUDIO_PULSE } HvAudioKind;
typedef enum { HV_LAYOUT_PIP, HV_LAYOUT_SIDE_BY_SIDE } HvLayout;

#define HV_MAX_CAMERAS 2
#define HV_MAX_ROOTS   2

typedef struct {
  HvVideoKind kind;
  char       *device;        /* /dev/videoN, libcamera camera name; NULL for test */
  char       *pattern;       /* test only: videotestsrc pattern nick */
  guint       fail_after;    /* test only: inject a source error after N frames (0: never) */
} HvVideoSource;

typedef struct {
  HvAudioKind kind;
  char       *device;        /* ALSA "hw:1,0" / pulse source name; NULL for test or default */
  gboolean    silent;        /* test only: generate silence */
  guint       fail_after;    /* test only: inject a source error after N buffers */
} HvAudioSource;

typedef struct {
  char         *room;
  HvVideoSource video[HV_MAX_CAMERAS];
  guint         n_video;
  HvAudioSource audio;
  HvLayout      layout;
  guint         width, height, fps;
  guint         video_kbps, audio_kbps;
  char         *encoder;           /* "auto", "x264" or "v4l2" */
  gdouble       silence_db;        /* peak below this counts as silence */
  guint         silence_seconds;   /* silence longer than this is an event */
  guint         reopen_seconds;    /* retry a lost source this often */
  char         *roots[HV_MAX_ROOTS + 1]; /* storage roots, NULL-terminated */
  guint8        recipients[HV_RECIPIENTS_MAX * HV_RECIPIENT_PK_SIZE];
  guint         n_recipients;
  guint         min_free_minutes;  /* pre-flight: space for this much media */
  guint         warn_minutes;      /* fewer minutes left than this: the low-space warning */
  guint         reserve_seconds;   /* each root keeps this much media free (space.h) */
  gboolean      no_sync;           /* benchmarks only */
} HvRecorderConfig;

/* Defaults: test sources, 1280x720@25, 3000 kbit/s video, 128 kbit/s AAC. */
void hv_recorder_config_init(HvRecorderConfig *cfg);
void hv_recorder_config_clear(HvRecorderConfig *cfg);
/* Check ranges and that device strings are safe; errors name the setting. */
gboolean hv_recorder_config_validate(const HvRecorderConfig *cfg, GError **error)
    G_GNUC_WARN_UNUSED_RESULT;
/* Bytes per second of sealed output the configuration produces (estimate). */
guint64 hv_recorder_config_byte_rate(const HvRecorderConfig *cfg);

G_END_DECLS
