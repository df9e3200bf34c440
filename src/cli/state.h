/* state.h - the state directory as the command uses it: its default name,
 * taking it (lock, checks, recovery) and the resume decision. */
#ifndef AL_CLI_STATE_H
#define AL_CLI_STATE_H

#include "cli.h"

/* Sets s->state_dir to ./.ampload/<first input's name>-<hash of all
 * inputs>, so the same command finds the same state again; each shard has
 * its own (-shard-I-of-N), and identify its own (identify-<name>-...). */
void cli_default_state_dir(cli_settings_t *s);

#endif
