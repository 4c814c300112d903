/* cmd_info.c — placeholder until this command lands. */
#include "cli/cli.h"
#include "cli/commands.h"

int cmd_info(int argc, char **argv) {
    (void)argc;
    return cli_fail("%s: not implemented yet", argv[0]);
}
