/*
 * service.h - riskd as a systemd service (Type=notify): it tells the service manager when it
 * is ready, keeps the watchdog fed while the main loop turns, and says when it is stopping.
 * Outside systemd (no $NOTIFY_SOCKET) every call does nothing.
 */
#ifndef RISKD_SERVICE_H
#define RISKD_SERVICE_H

#include <stdint.h>

/* Reads the watchdog interval systemd set (WatchdogSec=), if any. Call once at startup. */
void service_init(void);

/* Tells the service manager riskd is up (READY=1) with a one-line status. */
void service_ready(const char *status);

/* Called on every turn of the main loop at monotonic time now_ms: sends WATCHDOG=1 at half
 * the watchdog interval, so a loop that stops turning gets riskd restarted. Cheap when there
 * is nothing to send. */
void service_watchdog(int64_t now_ms);

/* Tells the service manager riskd is stopping (STOPPING=1). */
void service_stopping(void);

#endif
