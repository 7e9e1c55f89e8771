/*
 * service.c - readiness, watchdog and stopping notices to systemd (service.h), through
 * libsystemd's sd_notify.
 */
#include "service.h"

#include <stdio.h>

#include <systemd/sd-daemon.h>

static int64_t watchdog_every_ms; /* 0: no watchdog */
static int64_t last_ping_ms;

void service_init(void)
{
	uint64_t usec = 0;
	if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0)
		watchdog_every_ms = (int64_t)(usec / 2000);
	if (watchdog_every_ms == 0 && usec > 0)
		watchdog_every_ms = 1;
}

void service_ready(const char *status)
{
	sd_notifyf(0, "READY=1\nSTATUS=%s", status);
}

void service_watchdog(int64_t now_ms)
{
	if (watchdog_every_ms == 0 || now_ms - last_ping_ms < watchdog_every_ms)
		return;
	last_ping_ms = now_ms;
	sd_notify(0, "WATCHDOG=1");
}

void service_stopping(void)
{
	sd_notify(0, "STOPPING=1");
}
