/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * button: debounce and press/hold detection for one input, as pure logic
 * over an injected clock (microseconds), so it is tested without sleeps.
 * The first edge is taken at once (low latency) and further edges are locked
 * out for debounce_us; when the lockout ends the settled level is re-read.
 * The daemon feeds raw levels and calls hv_button_tick() at
 * hv_button_next_deadline().
 * A press ends as a TAP (released before hold_us: a short press, what starts
 * a recording) or, after HOLD fired, as an UP: so a hold is never also a tap.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  HV_BUTTON_NONE,
  HV_BUTTON_DOWN,   /* a debounced press began */
  HV_BUTTON_UP,     /* a press that was a hold ended */
  HV_BUTTON_HOLD,   /* still pressed after hold_us (once per press) */
  HV_BUTTON_TAP,    /* a press ended before hold_us: a short press */
} HvButtonEvent;

typedef struct {
  gint64   debounce_us;
  gint64   hold_us;
  gboolean raw;          /* last level fed */
  gboolean stable;       /* debounced level */
  gint64   last_accept;  /* when stable last changed */
  gint64   pressed_at;
  gboolean hold_fired;
  guint64  edges;        /* raw edges seen (for storm diagnostics) */
} HvButton;

void hv_button_init(HvButton *b, guint debounce_ms, guint hold_ms);
/* A raw level change at now; returns the debounced event, if any. */
HvButtonEvent hv_button_feed(HvButton *b, gboolean level, gint64 now);
/* Time passes; returns an event that became due (settled edge or hold). */
HvButtonEvent hv_button_tick(HvButton *b, gint64 now);
/* Absolute time of the next thing tick() may report, or -1. */
gint64 hv_button_next_deadline(const HvButton *b);

G_END_DECLS
