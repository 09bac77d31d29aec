/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gpio: the small hardware interface the daemon sees. Logical signals
 * (buttons in, lights and door sign out) mapped by a board description to
 * GPIO lines. Two backends: libgpiod (kernel GPIO character device, line
 * events watched through their fd in the main loop) and sim (in-process,
 * driven by the control socket for tests and the demo).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  HV_SIGNAL_RECORD,        /* input: start/stop button */
  HV_SIGNAL_MARKER,        /* input: marker button (optional) */
  HV_SIGNAL_LED_READY,     /* output: green */
  HV_SIGNAL_LED_RECORDING, /* output: red */
  HV_SIGNAL_LED_FAULT,     /* output: amber */
  HV_SIGNAL_DOOR_SIGN,     /* output: relay of the "interview in progress" sign */
  HV_SIGNAL_COUNT
} HvSignal;

#define HV_SIGNAL_IS_INPUT(s) ((s) <= HV_SIGNAL_MARKER)

const char *hv_signal_name(HvSignal s);
gboolean    hv_signal_from_name(const char *name, HvSignal *ret_signal);

typedef enum { HV_BIAS_AS_IS, HV_BIAS_DISABLE, HV_BIAS_PULL_UP, HV_BIAS_PULL_DOWN } HvBias;

typedef struct {
  gboolean present;
  char    *chip;          /* label ("pinctrl-bcm2711"), name ("gpiochip0") or path */
  char    *line_name;     /* line name, or NULL to use offset */
  guint    offset;
  gboolean active_low;
  HvBias   bias;
  guint    debounce_ms;   /* inputs */
} HvLineSpec;

typedef struct {
  char      *name;
  char      *backend;     /* "libgpiod" or "sim" */
  HvLineSpec lines[HV_SIGNAL_COUNT];
} HvBoard;

#define HV_GPIO_ERROR (hv_gpio_error_quark())
GQuark hv_gpio_error_quark(void);
typedef enum {
  HV_GPIO_ERROR_BOARD,     /* board description invalid */
  HV_GPIO_ERROR_CHIP,      /* chip not found */
  HV_GPIO_ERROR_LINE,      /* line not found or busy */
  HV_GPIO_ERROR_IO,
} HvGpioError;

/* Board description file (GKeyFile). Unknown groups/keys are errors. */
HvBoard *hv_board_load(const char *path, GError **error) G_GNUC_WARN_UNUSED_RESULT;
void     hv_board_free(HvBoard *b);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HvBoard, hv_board_free)

/* What a start would meet with this board (path: its file, for the
 * messages), every problem appended to problems (char *) as one line naming
 * the file and the signal's group: the same pin used for two signals, and
 * with the libgpiod backend a GPIO chip that is not there or a line it does
 * not have (the sim backend needs no hardware). Opens chips read-only and
 * requests no line. */
void hv_board_check(const HvBoard *b, const char *path, GPtrArray *problems);
/* libgpiod backend: the chip and line part of hv_board_check. */
void hv_gpio_libgpiod_check(const HvBoard *b, const char *path, GPtrArray *problems);

/* The board's lines, opened through its backend. Opaque, as libgpiod's
 * objects are: read it through the accessors below. */
typedef struct _HvGpio HvGpio;

/* An input changed. active: the line's logical level (after active-low) when
 * the backend read it. time_us: when the edge happened, CLOCK_MONOTONIC
 * microseconds, or -1 when unknown.
 *  - libgpiod: on each readable event fd, the pending edge events (up to 16)
 *    are read at once and reported as one call with the line's current level
 *    and the kernel's timestamp of the last of them. The v1 uAPI that
 *    libgpiod 1.6 uses stamps events with CLOCK_MONOTONIC since Linux 5.7
 *    (CLOCK_REALTIME before): a timestamp in the future or more than 300 s
 *    old is taken for another clock and reported as -1.
 *  - sim: the time the caller gave (hv_gpio_sim_set_input), or that a storm
 *    scheduled for the edge. */
typedef void (*HvGpioInputFunc)(HvSignal signal, gboolean active, gint64 time_us, gpointer user_data);

/* Create the backend named by the board; inputs are delivered on the thread
 * default main context. Takes ownership of board. */
HvGpio  *hv_gpio_new(HvBoard *board, HvGpioInputFunc on_input, gpointer user_data, GError **error)
    G_GNUC_WARN_UNUSED_RESULT;
gboolean hv_gpio_set(HvGpio *g, HvSignal s, gboolean on, GError **error) G_GNUC_WARN_UNUSED_RESULT;
/* The board description the lines were opened from (owned by g). */
const HvBoard *hv_gpio_get_board(const HvGpio *g);
/* The last value hv_gpio_set() drove output s to (FALSE for inputs and
 * absent signals): what the board shows, for the status. */
gboolean       hv_gpio_get_output(const HvGpio *g, HvSignal s);
/* Drive every output off (safe state) and release the lines. */
void     hv_gpio_free(HvGpio *g);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HvGpio, hv_gpio_free)

/* Sim backend only: drive an input as a person would. time_us is when the
 * edge happened (CLOCK_MONOTONIC, as the kernel stamps real edges), passed on
 * as it is; < 0: unknown (HvGpioInputFunc). */
gboolean hv_gpio_sim_set_input(HvGpio *g, HvSignal s, gboolean active, gint64 time_us, GError **error);
/* Sim backend only: a bouncing contact or a child hammering the button:
 * `edges` level changes, one every interval_ms, ending released. */
gboolean hv_gpio_sim_storm(HvGpio *g, HvSignal s, guint edges, guint interval_ms, GError **error);

G_END_DECLS
