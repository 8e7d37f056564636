/*
 * fork.h - L5: the fork protocol.  Registered once uslub is initialised;
 * afterwards fork() from any thread, while others are inside malloc or
 * free, leaves a child whose heap works.
 */
#ifndef USLUB_FORK_H
#define USLUB_FORK_H

/* pthread_atfork(prepare, parent, child); called at the end of init. */
void fork_register(void);

#endif /* USLUB_FORK_H */
