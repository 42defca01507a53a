/*
 * progress.h: the buildx-style progress display on stderr (progress.c):
 * steps, statuses, transfers and log lines the library reports through
 * util/log.h, drawn as --progress asks.
 */
#ifndef HOIST_CLI_PROGRESS_H
#define HOIST_CLI_PROGRESS_H

#include "cli/msg.h"

/*
 * Install the library callbacks for mode (auto: BUILDKIT_PROGRESS, else
 * tty on a terminal, else plain). -1 when mode is tty and stderr is not a
 * terminal (nothing is installed then), else 0.
 */
int hoist_progress_ui_init(enum hoist_progress_mode mode);
/* The mode in use (auto resolved); quiet before init. */
enum hoist_progress_mode hoist_progress_ui_mode(void);
/* tty: take the live area off the screen / put it back (around a line
 * printed from outside). Other modes: nothing. */
void hoist_progress_ui_pause(void);
void hoist_progress_ui_resume(void);
/* tty: draw the final "[+] Building ... FINISHED" frame (once; also at
 * exit). */
void hoist_progress_ui_finish(void);

#endif
