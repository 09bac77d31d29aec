/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * clip: what `haven export --from X --until Y` and `haven verify-clip` share
 * about a provable clip (docs/FORMAT.md §14): the points asked for (a time
 * or a marker), the media records' plaintext offsets (the record range),
 * and clip.json, which names the session, the request, the cut and the
 * hashes. The cut itself is recorder/ts-clip.
 */
#pragma once

#include "ts-clip.h"

#include <glib.h>

G_BEGIN_DECLS

#define HV_CLIP_ERROR hv_clip_error_quark()
GQuark hv_clip_error_quark(void);

typedef enum {
  HV_CLIP_ERROR_POINT,  /* --from/--until not a time nor a marker of the session */
  HV_CLIP_ERROR_JSON,   /* clip.json unreadable or malformed */
} HvClipError;

#define HV_CLIP_JSON "clip.json"
#define HV_CLIP_FORMAT "haven-clip-v1"
/* The largest hour a point may name (HH:MM:SS): far beyond any recording,
 * and its microseconds far within a gint64. */
#define HV_CLIP_MAX_HOURS 1000000u

/* A point of the recording: "marker:N" (the report's chapter N, from 1: its
 * offset from the first record), or a time from the first record:
 * [[HH:]MM:]SS[.fraction]. markers_us: the markers' offsets, in order. */
gboolean hv_clip_parse_point(const char *opt, const char *text, const gint64 *markers_us, guint n_markers,
                             gint64 *ret_us, GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Media records and the plaintext offset at which each begins, in order. */
typedef struct {
  guint64 index;   /* the record's index in records.hvr */
  guint64 offset;  /* its plaintext's offset in the stream */
} HvClipRecord;

/* The record whose plaintext holds stream byte off (records in order,
 * non-empty). */
const HvClipRecord *hv_clip_record_at(const GArray *records, guint64 off);

/* What clip.json holds. */
typedef struct {
  char   *fingerprint;      /* the session's */
  char   *status;           /* its seal status */
  guint64 stream_bytes;     /* the whole plaintext stream */
  char   *stream_sha256;
  char   *from, *until;     /* as given */
  gint64  from_us, to_us;   /* resolved */
  HvTsCut cut;
  HvClipRecord first, last; /* the records holding stream bytes start and end - 1 */
  gint64  pat_record, pmt_record;   /* index of the records holding the tables; -1: none */
  char   *ts_name;          /* the clip's TS in the clip's directory */
  guint64 ts_bytes;
  char   *ts_sha256;
} HvClipInfo;

void hv_clip_info_clear(HvClipInfo *c);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(HvClipInfo, hv_clip_info_clear)
/* Fill the record range from records (of HvClipRecord). */
void hv_clip_info_set_records(HvClipInfo *c, const GArray *records);
char *hv_clip_info_to_json(const HvClipInfo *c);
gboolean hv_clip_info_load(const char *path, HvClipInfo *c, GError **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
