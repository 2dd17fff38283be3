/* SPDX-License-Identifier: Apache-2.0 */
/* otter: build, sign, verify and inspect update.zip packages (otter_tool.c). */
#include "otter_cli.h"

int main(int argc, char **argv)
{
    return otter_tool_main(argc, argv);
}
