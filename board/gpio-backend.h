/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gpio-backend: what board.c and the GPIO backends (gpio-libgpiod.c,
 * gpio-sim.c) share. Private to board/: everything else sees HvGpio as the
 * opaque type of gpio.h and goes through its functions.
 */
#pragma once

#include "gpio.h"

G_BEGIN_DECLS

typedef struct {
  gboolean (*open)(HvGpio *g, GError **error);
  gboolean (*set)(HvGpio *g, HvSignal s, gboolean on, GError **error);
  void     (*close)(HvGpio *g);
} HvGpioOps;

struct _HvGpio {
  const HvGpioOps *ops;
  HvBoard         *board;           /* owned */
  HvGpioInputFunc  on_input;
  gpointer         user_data;
  gboolean         outputs[HV_SIGNAL_COUNT];  /* last value set, for status */
  gpointer         priv;            /* the backend's */
};

extern const HvGpioOps hv_gpio_libgpiod_ops;
extern const HvGpioOps hv_gpio_sim_ops;

G_END_DECLS
