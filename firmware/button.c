// SPDX-License-Identifier: GPL-2.0-or-later
#include "button.h"

void
hv_button_init(HvButton *b, guint debounce_ms, guint hold_ms)
{
  *b = (HvButton) { .debounce_us = (gint64) debounce_ms * 1000, .hold_us = (gint64) hold_ms * 1000,
                    .last_accept = G_MININT64 / 2 };
}

static HvButtonEvent
accept(HvButton *b, gint64 now)
{
  b->stable = b->raw;
  b->last_accept = now;
  if (b->stable) {
    b->pressed_at = now;
    b->hold_fired = FALSE;
    return HV_BUTTON_DOWN;
  }
  return b->hold_fired ? HV_BUTTON_UP : HV_BUTTON_TAP;
}

HvButtonEvent
hv_button_feed(HvButton *b, gboolean level, gint64 now)
{
  if (level != b->raw)
    b->edges++;
  b->raw = level;
  if (b->raw != b->stable && now - b->last_accept >= b->debounce_us)
    return accept(b, now);
  return HV_BUTTON_NONE;
}

HvButtonEvent
hv_button_tick(HvButton *b, gint64 now)
{
  if (b->raw != b->stable && now - b->last_accept >= b->debounce_us)
    return accept(b, now);
  if (b->stable && !b->hold_fired && now - b->pressed_at >= b->hold_us) {
    b->hold_fired = TRUE;
    return HV_BUTTON_HOLD;
  }
  return HV_BUTTON_NONE;
}

gint64
hv_button_next_deadline(const HvButton *b)
{
  gint64 d = -1;
  if (b->raw != b->stable)
    d = b->last_accept + b->debounce_us;
  if (b->stable && !b->hold_fired) {
    gint64 h = b->pressed_at + b->hold_us;
    d = d < 0 ? h : MIN(d, h);
  }
  return d;
}
