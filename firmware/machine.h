/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * machine: the appliance state machine as a pure transition function.
 * IDLE -> STARTING -> RECORDING -> STOPPING -> IDLE, plus FAULT.
 * A short press starts (taken at its release, so a hold from IDLE is never a
 * start); only a hold (or an explicit stop request) stops; a hold while idle
 * and presses while starting or stopping are ignored. A hold while STARTING does
 * stop, so a session whose sources never become healthy can still be ended.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  HV_STATE_IDLE,
  HV_STATE_STARTING,
  HV_STATE_RECORDING,
  HV_STATE_STOPPING,
  HV_STATE_FAULT,
} HvState;

typedef enum {
  HV_INPUT_PRESS,          /* record button: a short press ended (released before the hold) */
  HV_INPUT_HOLD,           /* record button held for hold-to-stop */
  HV_INPUT_START_REQUEST,  /* haven start */
  HV_INPUT_STOP_REQUEST,   /* haven stop, shutdown */
  HV_INPUT_START_FAILED,   /* pre-flight or sources refused */
  HV_INPUT_HEALTHY,        /* recorder: every source delivering, first chunk durable */
  HV_INPUT_FINISHED,       /* session sealed normally */
  HV_INPUT_FINISHED_FAULT, /* session ended by a fault */
  HV_INPUT_FAULT,          /* idle check failed */
  HV_INPUT_FAULT_CLEARED,
} HvInput;

typedef enum {
  HV_ACTION_NONE,
  HV_ACTION_START,
  HV_ACTION_STOP,
  HV_ACTION_IGNORED,       /* the input means nothing now: log it */
} HvAction;

const char *hv_state_name(HvState s);
const char *hv_input_name(HvInput in);
HvState hv_machine_next(HvState s, HvInput in, HvAction *ret_action);

G_END_DECLS
