/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * space: how long the storage lasts and when a session must stop for it.
 * Pure decisions (no I/O) so that they are unit-tested: the byte rate
 * measured from what was sealed, the reserve every root keeps so that the
 * session is sealed cleanly before ENOSPC can tear anything, the minutes
 * left on the binding root (the one that runs out first), and which roots
 * reached the reserve.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The reserve never goes below this: the last chunks the pipeline drains at
 * stop, the final commit, checkpoints and the seal, with room to spare. */
#define HV_SPACE_RESERVE_MIN (4u << 20)
/* A measured rate is trusted after this much recording; before, the
 * configured estimate is used. */
#define HV_SPACE_MEASURE_MIN_US (3 * G_USEC_PER_SEC)

/* Bytes per second to plan with: the measured rate (bytes sealed over
 * elapsed_us) once HV_SPACE_MEASURE_MIN_US have passed, the configured
 * estimate before that; never less than the estimate when planning the
 * reserve (planning = TRUE), since media may get denser (snow, motion). */
guint64 hv_space_rate(guint64 configured_rate, guint64 bytes, gint64 elapsed_us, gboolean planning);

/* The reserve each root keeps: reserve_seconds of media at rate, at least
 * HV_SPACE_RESERVE_MIN. */
guint64 hv_space_reserve(guint64 rate, guint reserve_seconds);

/* Free bytes a root needs for a start: min_free_minutes of media at rate,
 * plus the reserve. */
guint64 hv_space_start_need(guint64 rate, guint min_free_minutes, guint reserve_seconds);

/* The problem to report for a root with avail free bytes when a start needs
 * need (from hv_space_start_need), naming the root; NULL when it has room. */
char *hv_space_shortage(const char *root, guint64 avail, guint64 need, guint min_free_minutes);

/* Seconds of recording left on a root with free_bytes, above the reserve
 * (0 when at or below it; G_MAXINT64 when rate is 0). */
gint64 hv_space_seconds_left(guint64 free_bytes, guint64 reserve, guint64 rate);

typedef enum {
  HV_SPACE_OK,        /* every root in use is above the reserve */
  HV_SPACE_RETIRE,    /* some roots reached it; the others go on (ret_full says which) */
  HV_SPACE_FULL,      /* every root in use reached it: stop the session now */
} HvSpaceDecision;

/* avail[i]: free bytes of each of the n roots; in_use[i] FALSE for a root no longer written
 * (failed or retired), which is ignored. ret_full[i] TRUE for a root in use
 * below the reserve. */
HvSpaceDecision hv_space_decide(const guint64 *avail, const gboolean *in_use, guint n, guint64 reserve,
                                gboolean *ret_full);

G_END_DECLS
