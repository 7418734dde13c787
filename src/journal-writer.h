/* SPDX-License-Identifier: MIT */
/*
 * journal-writer.h: a connection to journald in its native protocol that
 * never blocks the event loop.  Only log.c holds one; tests point one at a
 * socket of their own.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#define JOURNAL_SOCKET "/run/systemd/journal/socket"

struct journal_writer;

/* The socket is connected at the first record, and again whenever journald went away. */
int journal_writer_new(const char *socket_path, struct journal_writer **ret);
/* Drops what still waits; see journal_writer_flush(). */
struct journal_writer *journal_writer_free(struct journal_writer *w);
/*
 * Sends "NAME=value" fields as one record, or queues them while journald
 * cannot take them; a field with no '=' is left out.  Never blocks.
 */
void journal_writer_send(struct journal_writer *w, char *const *fields, size_t n);
/* Lets the writer send waiting records as soon as journald takes records again; NULL detaches. */
void journal_writer_set_event(struct journal_writer *w, sd_event *e);
/* At exit: waits up to timeout_usec for journald to take what still waits, then drops it. */
void journal_writer_flush(struct journal_writer *w, uint64_t timeout_usec);
/* Records journald did not take, since the writer was made. */
uint64_t journal_writer_dropped(const struct journal_writer *w);
