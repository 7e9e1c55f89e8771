/*
 * test_service.c - end to end against the local stack: riskd as a systemd Type=notify
 * service. Run with a notification socket and a watchdog interval in its environment, as
 * systemd runs it, it sends READY=1 once it is consuming, WATCHDOG=1 at half the interval
 * while its loop turns (idle included), and STOPPING=1 on SIGTERM before it exits 0.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "tests/support/e2e.h"

/* What the socket received so far. */
struct notices {
	int ready, watchdog, stopping;
};

/* Reads every datagram waiting on fd into *n. */
static void drain(int fd, struct notices *n)
{
	char buf[4096];
	ssize_t len;
	while ((len = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT)) > 0) {
		buf[len] = '\0';
		n->ready += strstr(buf, "READY=1") != NULL;
		n->watchdog += strstr(buf, "WATCHDOG=1") != NULL;
		n->stopping += strstr(buf, "STOPPING=1") != NULL;
	}
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

Test(service, riskd_notifies_ready_feeds_the_watchdog_and_says_stopping, .timeout = 120)
{
	struct e2e_world w;
	e2e_world_new(&w, "SvcNotify", 1, 100);
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	snprintf(addr.sun_path, sizeof(addr.sun_path), "/tmp/riskd-notify-%d.sock", (int)getpid());
	unlink(addr.sun_path);
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0, "bind %s", addr.sun_path);

	setenv("NOTIFY_SOCKET", addr.sun_path, 1);
	setenv("WATCHDOG_USEC", "400000", 1); /* pings every 200 ms */
	pid_t pid = e2e_riskd_start(&w, NULL);
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");

	struct notices n = {0};
	for (int i = 0; i < 300 && !n.ready; i++) {
		sleep_ms(100);
		drain(fd, &n);
	}
	cr_assert_eq(n.ready, 1, "no READY=1 within 30 s (logs in %s)", w.dir);
	int before = n.watchdog;
	sleep_ms(2000); /* idle: nothing to consume */
	drain(fd, &n);
	cr_assert_geq(n.watchdog - before, 4, "%d WATCHDOG=1 in 2 s of idling (want about 10)",
	              n.watchdog - before);
	cr_assert_eq(n.stopping, 0);

	kill(pid, SIGTERM);
	cr_assert_eq(e2e_wait(pid, 30), 0, "riskd did not stop cleanly (logs in %s)", w.dir);
	drain(fd, &n);
	cr_assert_eq(n.stopping, 1, "no STOPPING=1 on SIGTERM");
	close(fd);
	unlink(addr.sun_path);
}

Test(service, without_a_notification_socket_riskd_runs_as_before, .timeout = 120)
{
	struct e2e_world w;
	e2e_world_new(&w, "SvcPlain", 1, 100);
	unsetenv("NOTIFY_SOCKET");
	e2e_riskd_run_until_idle(&w, 1.0, 60);
}
