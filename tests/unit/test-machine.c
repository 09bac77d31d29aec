// SPDX-License-Identifier: GPL-2.0-or-later
#include "machine.h"

typedef struct {
  HvState  from;
  HvInput  in;
  HvState  to;
  HvAction action;
} Row;

static const Row table[] = {
  { HV_STATE_IDLE,      HV_INPUT_PRESS,          HV_STATE_STARTING,  HV_ACTION_START },
  { HV_STATE_IDLE,      HV_INPUT_START_REQUEST,  HV_STATE_STARTING,  HV_ACTION_START },
  { HV_STATE_IDLE,      HV_INPUT_HOLD,           HV_STATE_IDLE,      HV_ACTION_IGNORED },
  { HV_STATE_FAULT,     HV_INPUT_HOLD,           HV_STATE_FAULT,     HV_ACTION_IGNORED },
  { HV_STATE_IDLE,      HV_INPUT_STOP_REQUEST,   HV_STATE_IDLE,      HV_ACTION_IGNORED },
  { HV_STATE_IDLE,      HV_INPUT_FAULT,          HV_STATE_FAULT,     HV_ACTION_NONE },
  { HV_STATE_STARTING,  HV_INPUT_PRESS,          HV_STATE_STARTING,  HV_ACTION_IGNORED },
  { HV_STATE_STARTING,  HV_INPUT_HEALTHY,        HV_STATE_RECORDING, HV_ACTION_NONE },
  { HV_STATE_STARTING,  HV_INPUT_START_FAILED,   HV_STATE_FAULT,     HV_ACTION_NONE },
  { HV_STATE_STARTING,  HV_INPUT_HOLD,           HV_STATE_STOPPING,  HV_ACTION_STOP },
  { HV_STATE_RECORDING, HV_INPUT_PRESS,          HV_STATE_RECORDING, HV_ACTION_IGNORED },
  { HV_STATE_RECORDING, HV_INPUT_START_REQUEST,  HV_STATE_RECORDING, HV_ACTION_IGNORED },
  { HV_STATE_RECORDING, HV_INPUT_HOLD,           HV_STATE_STOPPING,  HV_ACTION_STOP },
  { HV_STATE_RECORDING, HV_INPUT_STOP_REQUEST,   HV_STATE_STOPPING,  HV_ACTION_STOP },
  { HV_STATE_RECORDING, HV_INPUT_FINISHED_FAULT, HV_STATE_FAULT,     HV_ACTION_NONE },
  { HV_STATE_STOPPING,  HV_INPUT_PRESS,          HV_STATE_STOPPING,  HV_ACTION_IGNORED },
  { HV_STATE_STOPPING,  HV_INPUT_HOLD,           HV_STATE_STOPPING,  HV_ACTION_IGNORED },
  { HV_STATE_STOPPING,  HV_INPUT_FINISHED,       HV_STATE_IDLE,      HV_ACTION_NONE },
  { HV_STATE_STOPPING,  HV_INPUT_FINISHED_FAULT, HV_STATE_FAULT,     HV_ACTION_NONE },
  { HV_STATE_FAULT,     HV_INPUT_PRESS,          HV_STATE_STARTING,  HV_ACTION_START },
  { HV_STATE_FAULT,     HV_INPUT_FAULT_CLEARED,  HV_STATE_IDLE,      HV_ACTION_NONE },
};

static void
test_row(gconstpointer data)
{
  const Row *r = data;
  HvAction a;
  g_assert_cmpstr(hv_state_name(hv_machine_next(r->from, r->in, &a)), ==, hv_state_name(r->to));
  g_assert_cmpint(a, ==, r->action);
}

/* Whatever arrives, a session is never started twice without finishing. */
static void
test_never_two_sessions(void)
{
  GRand *rand = g_rand_new_with_seed(42);
  HvState s = HV_STATE_IDLE;
  gboolean open = FALSE;
  for (int i = 0; i < 100000; i++) {
    HvInput in = (HvInput) g_rand_int_range(rand, 0, HV_INPUT_FAULT_CLEARED + 1);
    if ((in == HV_INPUT_FINISHED || in == HV_INPUT_FINISHED_FAULT || in == HV_INPUT_HEALTHY) && !open)
      continue; /* the recorder only reports on an open session */
    if (in == HV_INPUT_START_FAILED && (!open || s != HV_STATE_STARTING))
      continue;
    HvAction a;
    s = hv_machine_next(s, in, &a);
    if (a == HV_ACTION_START) {
      g_assert_false(open);
      open = TRUE;
    }
    if (in == HV_INPUT_FINISHED || in == HV_INPUT_FINISHED_FAULT || in == HV_INPUT_START_FAILED)
      open = FALSE;
  }
  g_rand_free(rand);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  for (guint i = 0; i < G_N_ELEMENTS(table); i++) {
    g_autofree char *path = g_strdup_printf("/machine/%s/%s", hv_state_name(table[i].from),
                                            hv_input_name(table[i].in));
    g_strdelimit(path, " ", '-');
    g_test_add_data_func(path, &table[i], test_row);
  }
  g_test_add_func("/machine/never-two-sessions", test_never_two_sessions);
  return g_test_run();
}
