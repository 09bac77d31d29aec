// SPDX-License-Identifier: GPL-2.0-or-later
/* gpio-sim: an in-process board for tests and the demo. Inputs are driven
 * through hv_gpio_sim_set_input() (the control socket's "sim" commands);
 * outputs are just remembered, and read back through the status. */
#define G_LOG_DOMAIN "haven-board"
#include "gpio-backend.h"

static gboolean
sim_open(HvGpio *g, GError **error)
{
  g_message("board %s: simulated GPIO", g->board->name);
  return TRUE;
}

static gboolean
sim_set(HvGpio *g, HvSignal s, gboolean on, GError **error)
{
  return TRUE;
}

static void
sim_close(HvGpio *g)
{
}

const HvGpioOps hv_gpio_sim_ops = { sim_open, sim_set, sim_close };

static gboolean
check_input(HvGpio *g, HvSignal s, GError **error)
{
  if (g->ops != &hv_gpio_sim_ops) {
    g_set_error(error, HV_GPIO_ERROR, HV_GPIO_ERROR_BOARD, "board %s is not simulated", g->board->name);
    return FALSE;
  }
  if (!HV_SIGNAL_IS_INPUT(s) || !g->board->lines[s].present) {
    g_set_error(error, HV_GPIO_ERROR, HV_GPIO_ERROR_LINE, "%s is not an input of board %s",
                hv_signal_name(s), g->board->name);
    return FALSE;
  }
  return TRUE;
}

gboolean
hv_gpio_sim_set_input(HvGpio *g, HvSignal s, gboolean active, gint64 time_us, GError **error)
{
  if (!check_input(g, s, error))
    return FALSE;
  g->on_input(s, active, time_us, g->user_data);
  return TRUE;
}

typedef struct {
  HvGpio  *gpio;
  HvSignal signal;
  guint    left;
  gboolean level;
  gint64   next_us;      /* when the next edge happens: a storm is one edge per */
  gint64   interval_us;  /* interval from its start, however late the loop runs */
} Storm;

static gboolean
storm_step(gpointer user_data)
{
  Storm *st = user_data;
  st->level = !st->level;
  st->gpio->on_input(st->signal, st->level, st->next_us, st->gpio->user_data);
  st->next_us += st->interval_us;
  if (--st->left > 0)
    return G_SOURCE_CONTINUE;
  if (st->level) /* always end released */
    st->gpio->on_input(st->signal, FALSE, st->next_us, st->gpio->user_data);
  return G_SOURCE_REMOVE;
}

gboolean
hv_gpio_sim_storm(HvGpio *g, HvSignal s, guint edges, guint interval_ms, GError **error)
{
  if (!check_input(g, s, error))
    return FALSE;
  if (edges == 0)
    return TRUE;
  Storm *st = g_new0(Storm, 1);
  st->gpio = g;
  st->signal = s;
  st->left = edges;
  st->interval_us = (gint64) interval_ms * 1000;
  st->next_us = g_get_monotonic_time() + st->interval_us;
  g_timeout_add_full(G_PRIORITY_DEFAULT, interval_ms, storm_step, st, g_free);
  return TRUE;
}
