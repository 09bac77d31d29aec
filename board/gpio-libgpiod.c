// SPDX-License-Identifier: GPL-2.0-or-later
/* gpio-libgpiod: the kernel GPIO character device through libgpiod 1.6.
 * Input edges are watched through each line's event fd in the main loop. */
#define G_LOG_DOMAIN "haven-board"
#include "gpio-backend.h"

#include <errno.h>
#include <glib-unix.h>
#include <gpiod.h>

typedef struct {
  struct gpiod_chip *chips[HV_SIGNAL_COUNT];
  struct gpiod_line *lines[HV_SIGNAL_COUNT];
  guint              watches[HV_SIGNAL_COUNT];
} Priv;

typedef struct {
  HvGpio  *gpio;
  HvSignal signal;
} Watch;

static int
request_flags(const HvLineSpec *l)
{
  int f = l->active_low ? GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW : 0;
  switch (l->bias) {
  case HV_BIAS_DISABLE:   f |= GPIOD_LINE_REQUEST_FLAG_BIAS_DISABLE; break;
  case HV_BIAS_PULL_UP:   f |= GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_UP; break;
  case HV_BIAS_PULL_DOWN: f |= GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_DOWN; break;
  default: break;
  }
  return f;
}

static gboolean
on_event(gint fd, GIOCondition cond, gpointer user_data)
{
  Watch *w = user_data;
  Priv *p = w->gpio->priv;
  struct gpiod_line_event ev[16];
  int n = gpiod_line_event_read_fd_multiple(fd, ev, G_N_ELEMENTS(ev));
  if (n < 0) {
    g_warning("%s: reading line events: %s", hv_signal_name(w->signal), g_strerror(errno));
    return G_SOURCE_CONTINUE;
  }
  /* Report the settled logical level: the button logic debounces. The time
   * is the kernel's timestamp of the last edge (CLOCK_MONOTONIC since Linux
   * 5.7), so an edge read late, after the main loop was busy, keeps the time
   * it happened; a timestamp from another clock is reported as unknown (-1). */
  gint64 now = g_get_monotonic_time();
  gint64 at = n > 0 ? (gint64) ev[n - 1].ts.tv_sec * G_USEC_PER_SEC + ev[n - 1].ts.tv_nsec / 1000 : -1;
  if (at > now || now - at > 300 * G_USEC_PER_SEC)
    at = -1;
  int v = gpiod_line_get_value(p->lines[w->signal]);
  if (v >= 0)
    w->gpio->on_input(w->signal, v == 1, at, w->gpio->user_data);
  return G_SOURCE_CONTINUE;
}

static gboolean
open_line(HvGpio *g, Priv *p, HvSignal s, GError **error)
{
  const HvLineSpec *l = &g->board->lines[s];
  p->chips[s] = gpiod_chip_open_lookup(l->chip);
  if (!p->chips[s]) {
    g_set_error(error, HV_GPIO_ERROR, HV_GPIO_ERROR_CHIP, "signal %s: GPIO chip '%s' not found (%s)",
                hv_signal_name(s), l->chip, g_strerror(errno));
    return FALSE;
  }
  p->lines[s] = l->line_name ? gpiod_chip_find_line(p->chips[s], l->line_name)
                             : gpiod_chip_get_line(p->chips[s], l->offset);
  if (!p->lines[s]) {
    g_autofree char *which = l->line_name ? g_strdup_printf("'%s'", l->line_name)
                                          : g_strdup_printf("%u", l->offset);
    g_set_error(error, HV_GPIO_ERROR, HV_GPIO_ERROR_LINE, "signal %s: line %s not found on chip '%s'",
                hv_signal_name(s), which, l->chip);
    return FALSE;
  }
  int r = HV_SIGNAL_IS_INPUT(s)
              ? gpiod_line_request_both_edges_events_flags(p->lines[s], "havend", request_flags(l))
              : gpiod_line_request_output_flags(p->lines[s], "havend", request_flags(l), 0);
  if (r < 0) {
    g_set_error(error, HV_GPIO_ERROR, HV_GPIO_ERROR_LINE, "signal %s: cannot request line %u of '%s': %s",
                hv_signal_name(s), gpiod_line_offset(p->lines[s]), l->chip, g_strerror(errno));
    p->lines[s] = NULL;
    return FALSE;
  }
  if (HV_SIGNAL_IS_INPUT(s)) {
    Watch *w = g_new0(Watch, 1);
    w->gpio = g;
    w->signal = s;
    p->watches[s] = g_unix_fd_add_full(G_PRIORITY_HIGH, gpiod_line_event_get_fd(p->lines[s]), G_IO_IN,
                                       on_event, w, g_free);
  }
  return TRUE;
}

static void
gpiod_close(HvGpio *g)
{
  Priv *p = g->priv;
  if (!p)
    return;
  for (guint s = 0; s < HV_SIGNAL_COUNT; s++) {
    if (p->watches[s])
      g_source_remove(p->watches[s]);
    if (p->lines[s])
      gpiod_line_release(p->lines[s]);
    if (p->chips[s])
      gpiod_chip_close(p->chips[s]);
  }
  g_free(p);
  g->priv = NULL;
}

static gboolean
gpiod_open(HvGpio *g, GError **error)
{
  Priv *p = g_new0(Priv, 1);
  g->priv = p;
  for (guint s = 0; s < HV_SIGNAL_COUNT; s++) {
    if (g->board->lines[s].present && !open_line(g, p, (HvSignal) s, error)) {
      gpiod_close(g);
      return FALSE;
    }
  }
  return TRUE;
}

static gboolean
gpiod_set(HvGpio *g, HvSignal s, gboolean on, GError **error)
{
  Priv *p = g->priv;
  if (gpiod_line_set_value(p->lines[s], on ? 1 : 0) < 0) {
    g_set_error(error, HV_GPIO_ERROR, HV_GPIO_ERROR_IO, "signal %s: %s", hv_signal_name(s),
                g_strerror(errno));
    return FALSE;
  }
  return TRUE;
}

const HvGpioOps hv_gpio_libgpiod_ops = { gpiod_open, gpiod_set, gpiod_close };

/* ---- --check-config ---- */

typedef struct {
  char  *chip_name;  /* "gpiochip0", NULL: not resolved */
  guint  offset;
} Resolved;

void
hv_gpio_libgpiod_check(const HvBoard *b, const char *path, GPtrArray *problems)
{
  Resolved res[HV_SIGNAL_COUNT] = { 0 };
  g_autoptr(GHashTable) missing = g_hash_table_new(g_str_hash, g_str_equal); /* chips reported */
  for (guint s = 0; s < HV_SIGNAL_COUNT; s++) {
    const HvLineSpec *l = &b->lines[s];
    const char *sig = hv_signal_name((HvSignal) s);
    if (!l->present || g_hash_table_contains(missing, l->chip))
      continue;
    struct gpiod_chip *chip = gpiod_chip_open_lookup(l->chip);
    if (!chip) {
      int e = errno;
      g_hash_table_add(missing, l->chip);
      g_ptr_array_add(problems, g_strdup_printf("%s: [signal.%s] chip: GPIO chip '%s' not found (%s)%s", path, sig,
                                                l->chip, g_strerror(e),
                                                e == EACCES || e == EPERM
                                                    ? ": the user may not open it (group gpio?)"
                                                    : ": wrong board file for this machine?"));
      continue;
    }
    struct gpiod_line *line = NULL;
    if (l->line_name)
      line = gpiod_chip_find_line(chip, l->line_name);
    else if (l->offset < gpiod_chip_num_lines(chip))
      line = gpiod_chip_get_line(chip, l->offset);
    if (!line) {
      g_autofree char *which = l->line_name ? g_strdup_printf("'%s'", l->line_name) : g_strdup_printf("%u", l->offset);
      g_ptr_array_add(problems, g_strdup_printf("%s: [signal.%s] line: %s is not a line of GPIO chip '%s' (%s, "
                                                "label '%s', %u lines)", path, sig, which, l->chip,
                                                gpiod_chip_name(chip), gpiod_chip_label(chip),
                                                gpiod_chip_num_lines(chip)));
    } else {
      res[s].chip_name = g_strdup(gpiod_chip_name(chip));
      res[s].offset = gpiod_line_offset(line);
      /* the same pin reached by two different names (a label and a number):
       * the same spelling was reported by hv_board_check already */
      for (guint t = 0; t < s; t++) {
        if (res[t].chip_name && g_str_equal(res[t].chip_name, res[s].chip_name) && res[t].offset == res[s].offset &&
            !(g_strcmp0(l->chip, b->lines[t].chip) == 0 && g_strcmp0(l->line_name, b->lines[t].line_name) == 0 &&
              (l->line_name || l->offset == b->lines[t].offset))) {
          g_ptr_array_add(problems, g_strdup_printf("%s: [signal.%s] line: line %u of %s is already used by "
                                                    "[signal.%s]: one pin cannot be two signals", path, sig,
                                                    res[s].offset, res[s].chip_name, hv_signal_name((HvSignal) t)));
          break;
        }
      }
    }
    gpiod_chip_close(chip);
  }
  for (guint s = 0; s < HV_SIGNAL_COUNT; s++)
    g_free(res[s].chip_name);
}
