/*
 * interrupt.c -- Ctrl-C as a request, not a kill: the handler records the signal in a flag that the
 * training loop polls between steps, so it can write a checkpoint and exit cleanly. A second signal
 * while the first is pending restores the default action and re-raises it (the user insists).
 */
#include "internal.h"

#include <signal.h>
#include <string.h>
#include <errno.h>

static volatile sig_atomic_t pending_signal = 0;

static void on_signal(int sig) {
    if (pending_signal != 0) {
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    pending_signal = sig;
}

nvp_status nvp_interrupt_install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0)
        return nvp_fail(NVP_STATUS_IO, "nvp_interrupt_install: sigaction failed: %s", strerror(errno));
    return NVP_OK;
}

int nvp_interrupted(void) { return (int)pending_signal; }

void nvp_interrupt_clear(void) { pending_signal = 0; }
