/* The commands about inserts and hearing: `inserts` lists every chain with
 * its latency, parameters and monitors; `insert` changes a parameter or
 * bypasses an insert while audio runs; `exposure` reports each console's
 * noise dose for the day. Part of the one command path (command.c). */
#ifndef TOLK_INSERT_COMMANDS_H
#define TOLK_INSERT_COMMANDS_H

#include "command.h"

enum command_outcome cmd_inserts(struct command_context *ctx, int argc, char **argv, struct json_writer *w);
enum command_outcome cmd_insert(struct command_context *ctx, int argc, char **argv, struct json_writer *w);
enum command_outcome cmd_exposure(struct command_context *ctx, int argc, char **argv, struct json_writer *w);

/* "latency": the frames each kind of chain adds, and each chain, for
 * status. */
void write_insert_latency(const struct config *cfg, const struct insert_rack *rack, struct json_writer *w);

#endif
