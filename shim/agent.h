/* agent: `rift-shim agent ...`, the host side of `rift run --hosts`. */
#ifndef RIFT_AGENT_H
#define RIFT_AGENT_H

/* argv[1] is "agent"; returns the exit status. */
int agent_main(int argc, char **argv);

#endif
