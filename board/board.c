// SPDX-License-Identifier: GPL-2.0-or-later
#define G_LOG_DOMAIN "haven-board"
#include "gpio-backend.h"

#include <string.h>

G_DEFINE_QUARK(hv-gpio-error-quark, hv_gpio_error)

static const char *signal_names[HV_SIGNAL_COUNT] = {
  "record", "marker", "led-ready", "led-recording", "led-fault", "door-sign",
};

const char *
hv_signal_name(HvSignal s)
{
  return s < HV_SIGNAL_COUNT ? signal_names[s] : "?";
}

gboolean
hv_signal_from_name(const char *name, HvSignal *ret_signal)
{
  for (guint i = 0; i < HV_SIGNAL_COUNT; i++)
    if (g_strcmp0(name, signal_names[i]) == 0) {
      *ret_signal = (HvSignal) i;
      return TRUE;
    }
  return FALSE;
}

void
hv_board_free(HvBoard *b)
{
  if (!b)
    return;
  g_free(b->name);
  g_free(b->backend);
  for (guint i = 0; i < HV_SIGNAL_COUNT; i++) {
    g_free(b->lines[i].chip);
    g_free(b->lines[i].line_name);
  }
  g_free(b);
}

static gboolean
bad(GError **error, const char *path, const char *group, const char *key, const char *fmt, ...) G_GNUC_PRINTF(5, 6);

static gboolean
bad(GError **error, const char *path, const char *group, const char *key, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  g_autofree char *msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  g_set_error(error, HV_GPIO_ERROR, HV_GPIO_ERROR_BOARD, "%s: [%s]%s%s: %s", path, group,
              key ? " " : "", key ? key : "", msg);
  return FALSE;
}

static gboolean
load_line(GKeyFile *kf, const char *path, const char *group, HvLineSpec *l, gboolean input, GError **error)
{
  g_auto(GStrv) keys = g_key_file_get_keys(kf, group, NULL, NULL);
  gboolean have_line = FALSE;
  for (guint k = 0; keys && keys[k]; k++) {
    const char *key = keys[k];
    g_autoptr(GError) err = NULL;
    if (g_str_equal(key, "chip")) {
      g_free(l->chip); /* a repeated group lists the key again */
      l->chip = g_key_file_get_string(kf, group, key, &err);
    } else if (g_str_equal(key, "line")) {
      g_autofree char *v = g_key_file_get_string(kf, group, key, &err);
      guint64 off;
      have_line = TRUE;
      if (v && g_ascii_string_to_unsigned(v, 10, 0, 1023, &off, NULL))
        l->offset = (guint) off;
      else if (v)
        g_free(l->line_name), l->line_name = g_strdup(v);
    } else if (g_str_equal(key, "active-low")) {
      l->active_low = g_key_file_get_boolean(kf, group, key, &err);
    } else if (g_str_equal(key, "bias")) {
      g_autofree char *v = g_key_file_get_string(kf, group, key, &err);
      if (!v)
        ;
      else if (g_str_equal(v, "as-is")) l->bias = HV_BIAS_AS_IS;
      else if (g_str_equal(v, "disable")) l->bias = HV_BIAS_DISABLE;
      else if (g_str_equal(v, "pull-up")) l->bias = HV_BIAS_PULL_UP;
      else if (g_str_equal(v, "pull-down")) l->bias = HV_BIAS_PULL_DOWN;
      else
        return bad(error, path, group, key, "'%s' is not one of as-is, disable, pull-up, pull-down", v);
    } else if (g_str_equal(key, "debounce-ms") && input) {
      gint v = g_key_file_get_integer(kf, group, key, &err);
      if (!err && (v < 0 || v > 1000))
        return bad(error, path, group, key, "%d is out of range (0 to 1000)", v);
      l->debounce_ms = (guint) v;
    } else {
      return bad(error, path, group, key, "unknown key");
    }
    if (err)
      return bad(error, path, group, key, "%s", err->message);
  }
  if (!l->chip || !have_line)
    return bad(error, path, group, NULL, "both 'chip' and 'line' are required");
  l->present = TRUE;
  return TRUE;
}

HvBoard *
hv_board_load(const char *path, GError **error)
{
  g_autoptr(GKeyFile) kf = g_key_file_new();
  g_autoptr(GError) err = NULL;
  if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, &err)) {
    g_set_error(error, HV_GPIO_ERROR, HV_GPIO_ERROR_BOARD, "%s: %s", path, err->message);
    return NULL;
  }
  g_autoptr(HvBoard) b = g_new0(HvBoard, 1);
  for (guint i = 0; i < HV_SIGNAL_COUNT; i++)
    b->lines[i].debounce_ms = 30;
  g_auto(GStrv) groups = g_key_file_get_groups(kf, NULL);
  for (guint i = 0; groups[i]; i++) {
    const char *g = groups[i];
    HvSignal sig;
    if (g_str_equal(g, "board")) {
      g_auto(GStrv) keys = g_key_file_get_keys(kf, g, NULL, NULL);
      for (guint k = 0; keys[k]; k++) {
        /* a repeated [board] group lists its keys again: replace, never leak */
        if (g_str_equal(keys[k], "name"))
          g_free(b->name), b->name = g_key_file_get_string(kf, g, keys[k], NULL);
        else if (g_str_equal(keys[k], "backend"))
          g_free(b->backend), b->backend = g_key_file_get_string(kf, g, keys[k], NULL);
        else
          return bad(error, path, g, keys[k], "unknown key"), NULL;
      }
    } else if (g_str_has_prefix(g, "signal.") && hv_signal_from_name(g + 7, &sig)) {
      b->lines[sig].debounce_ms = 30;
      if (!load_line(kf, path, g, &b->lines[sig], HV_SIGNAL_IS_INPUT(sig), error))
        return NULL;
    } else {
      return bad(error, path, g, NULL, "unknown group (signals are record, marker, led-ready, "
                 "led-recording, led-fault, door-sign)"), NULL;
    }
  }
  if (!b->backend || (!g_str_equal(b->backend, "libgpiod") && !g_str_equal(b->backend, "sim")))
    return bad(error, path, "board", "backend", "must be libgpiod or sim"), NULL;
  if (!b->name)
    b->name = g_path_get_basename(path);
  static const HvSignal required[] = { HV_SIGNAL_RECORD, HV_SIGNAL_LED_READY, HV_SIGNAL_LED_RECORDING,
                                       HV_SIGNAL_LED_FAULT };
  for (guint i = 0; i < G_N_ELEMENTS(required); i++) {
    if (!b->lines[required[i]].present) {
      g_autofree char *grp = g_strdup_printf("signal.%s", hv_signal_name(required[i]));
      return bad(error, path, grp, NULL, "required signal is missing"), NULL;
    }
  }
  return g_steal_pointer(&b);
}

/* "'GPIO17'" or "17" (owned by the caller) */
static char *
line_text(const HvLineSpec *l)
{
  return l->line_name ? g_strdup_printf("'%s'", l->line_name) : g_strdup_printf("%u", l->offset);
}

static gboolean
same_pin(const HvLineSpec *a, const HvLineSpec *b)
{
  return g_strcmp0(a->chip, b->chip) == 0 &&
         (a->line_name || b->line_name ? g_strcmp0(a->line_name, b->line_name) == 0 : a->offset == b->offset);
}

void
hv_board_check(const HvBoard *b, const char *path, GPtrArray *problems)
{
  for (guint s = 0; s < HV_SIGNAL_COUNT; s++) {
    if (!b->lines[s].present)
      continue;
    for (guint t = 0; t < s; t++) {
      if (b->lines[t].present && same_pin(&b->lines[s], &b->lines[t])) {
        g_autofree char *which = line_text(&b->lines[s]);
        g_ptr_array_add(problems, g_strdup_printf("%s: [signal.%s] line: %s of chip '%s' is already used by "
                                                  "[signal.%s]: one pin cannot be two signals", path,
                                                  hv_signal_name((HvSignal) s), which, b->lines[s].chip,
                                                  hv_signal_name((HvSignal) t)));
        break;
      }
    }
  }
  if (g_strcmp0(b->backend, "libgpiod") == 0)
    hv_gpio_libgpiod_check(b, path, problems);
}

HvGpio *
hv_gpio_new(HvBoard *board, HvGpioInputFunc on_input, gpointer user_data, GError **error)
{
  HvGpio *g = g_new0(HvGpio, 1);
  g->board = board;
  g->on_input = on_input;
  g->user_data = user_data;
  g->ops = g_str_equal(board->backend, "sim") ? &hv_gpio_sim_ops : &hv_gpio_libgpiod_ops;
  if (!g->ops->open(g, error)) {
    hv_board_free(g->board);
    g_free(g);
    return NULL;
  }
  return g;
}

gboolean
hv_gpio_set(HvGpio *g, HvSignal s, gboolean on, GError **error)
{
  if (!g->board->lines[s].present || HV_SIGNAL_IS_INPUT(s))
    return TRUE;
  if (g->outputs[s] == on)
    return TRUE;
  if (!g->ops->set(g, s, on, error))
    return FALSE;
  g->outputs[s] = on;
  return TRUE;
}

const HvBoard *
hv_gpio_get_board(const HvGpio *g)
{
  return g->board;
}

gboolean
hv_gpio_get_output(const HvGpio *g, HvSignal s)
{
  return s < HV_SIGNAL_COUNT && g->outputs[s];
}

void
hv_gpio_free(HvGpio *g)
{
  if (!g)
    return;
  for (guint s = 0; s < HV_SIGNAL_COUNT; s++)
    if (!HV_SIGNAL_IS_INPUT(s) && g->board->lines[s].present && g->outputs[s])
      (void) g->ops->set(g, (HvSignal) s, FALSE, NULL);
  g->ops->close(g);
  hv_board_free(g->board);
  g_free(g);
}
