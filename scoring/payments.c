/*
 * payments.c - payment behaviour: bills, payments and reversals applied to a customer's
 * fixed-size struct pay_state, and the credit features read from it (see payments.h).
 *
 * Layout of the state: up to PAY_OPEN_BILLS open bills kept one by one (rest in cents, due
 * date, bill id hash), sorted by due date; an "older debt" amount holding bills pushed out of
 * that list and payments reopened by reversals; and two rings of PAY_MONTHS calendar months,
 * one of 2-bit counts (bills due, paid on time, paid late, reversals) and one of the largest
 * days past due at a payoff. Every feature window is whole calendar months: the current
 * month of `today` and the eleven before it.
 */
#include "payments.h"

#include <string.h>

#include "cstate.h"

#define LOG_BILLS 0   /* bit offsets of the 2-bit counts in month_log */
#define LOG_ON_TIME 2
#define LOG_LATE 4
#define LOG_REVERSALS 6

#define DAY16_MAX 65535

/* older_rev: the older debt's bill count (bits 0-1) and the newest reversal's day of the
 * month (bits 2-6). */
#define OLDER_COUNT_MASK 0x03u
#define REV_DOM_SHIFT 2
#define REV_DOM_MASK 0x7cu

static unsigned older_count(const struct pay_state *ps)
{
	return ps->older_rev & OLDER_COUNT_MASK;
}

static void older_count_set(struct pay_state *ps, unsigned count)
{
	count = count > PAY_MONTH_COUNT_CAP ? PAY_MONTH_COUNT_CAP : count;
	ps->older_rev = (uint8_t)((ps->older_rev & ~OLDER_COUNT_MASK) | count);
}

static unsigned reversal_dom(const struct pay_state *ps)
{
	return (ps->older_rev & REV_DOM_MASK) >> REV_DOM_SHIFT;
}

static uint16_t day16(int32_t day)
{
	return (uint16_t)(day < 1 ? 1 : day > DAY16_MAX ? DAY16_MAX : day);
}

static int32_t cents_of(double amount)
{
	if (!(amount > 0))
		return 0;
	double c = amount * 100.0 + 0.5;
	return c >= (double)INT32_MAX ? INT32_MAX : (int32_t)c;
}

static int32_t sat32(int64_t v)
{
	return v > INT32_MAX ? INT32_MAX : v < -INT32_MAX ? -INT32_MAX : (int32_t)v;
}

/* Civil date of a day (proleptic Gregorian, days since 1970-01-01): Howard Hinnant's
 * civil_from_days. */
static void civil_of(int32_t day, int32_t *year, int32_t *month, int32_t *dom)
{
	int64_t z = (int64_t)day + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int64_t m = mp < 10 ? mp + 3 : mp - 9;
	*dom = (int32_t)(doy - (153 * mp + 2) / 5 + 1);
	*month = (int32_t)m;
	*year = (int32_t)(yoe + era * 400 + (m <= 2));
}

/* Days since 1970-01-01 of the first day of month m (months since January 1970): Howard
 * Hinnant's days_from_civil. */
static int32_t first_day_of_month(int32_t m)
{
	int64_t y = 1970 + (m >= 0 ? m / 12 : (m - 11) / 12), mo = m - (y - 1970) * 12 + 1;
	y -= mo <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (mo > 2 ? mo - 3 : mo + 9) + 2) / 5;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (int32_t)(era * 146097 + doe - 719468);
}

/* Months since January 1970 of a day. */
static int32_t month_of(int32_t day)
{
	int32_t y, m, d;
	civil_of(day, &y, &m, &d);
	return (y - 1970) * 12 + m - 1;
}

/* Whole calendar months from day `from` to day `to` (0 when to is not later): 2024-03-01
 * to 2026-03-01 is 24, to 2026-02-28 is 23. */
static double months_between(int32_t from, int32_t to)
{
	if (to <= from)
		return 0;
	int32_t y1, m1, d1, y2, m2, d2;
	civil_of(from, &y1, &m1, &d1);
	civil_of(to, &y2, &m2, &d2);
	int32_t months = (y2 - y1) * 12 + (m2 - m1) - (d2 < d1 ? 1 : 0);
	return months > 0 ? months : 0;
}

/* 16-bit hash of a bill id, never 0 (0 marks a bill without id). */
static uint16_t bill_hash(const char *id, size_t len)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)id[i];
		h *= 16777619u;
	}
	uint16_t folded = (uint16_t)((h >> 16) ^ (h & 0xffffu));
	return folded ? folded : 1;
}

/* First billing event: starts the month rings at that month, and tenure if no profile did. */
static void pay_begin(struct pay_state *ps, int32_t day)
{
	if (!(ps->flags & PAY_F_BILLING)) {
		ps->flags |= PAY_F_BILLING;
		ps->graded_day = day16(day - 1); /* grading starts with the day of this event */
		int32_t m = month_of(day);
		ps->head_month = (uint16_t)(m < 0 ? 0 : m > DAY16_MAX ? DAY16_MAX : m);
	}
	if (!(ps->flags & PAY_F_START_SET)) {
		ps->start_day = day16(day);
		ps->flags |= PAY_F_START_SET;
	}
}

/* Ring slot of month m, advancing the rings (and clearing the months passed over) when m is
 * newer than the head; -1 when m has already left the rings. */
static int month_slot(struct pay_state *ps, int32_t m)
{
	if (m < 0)
		m = 0;
	if (m > DAY16_MAX)
		m = DAY16_MAX;
	if (m > ps->head_month) {
		int32_t steps = m - ps->head_month;
		if (steps > PAY_MONTHS)
			steps = PAY_MONTHS;
		for (int32_t k = m - steps + 1; k <= m; k++) {
			ps->month_log[k % PAY_MONTHS] = 0;
			ps->month_dpd[k % PAY_MONTHS] = 0;
		}
		ps->head_month = (uint16_t)m;
	} else if (m <= ps->head_month - PAY_MONTHS) {
		return -1;
	}
	return m % PAY_MONTHS;
}

static unsigned log_get(uint8_t cell, int shift)
{
	return (cell >> shift) & 3u;
}

static void log_add(struct pay_state *ps, int32_t month, int shift, int delta)
{
	int slot = month_slot(ps, month);
	if (slot < 0)
		return;
	int v = (int)log_get(ps->month_log[slot], shift) + delta;
	v = v < 0 ? 0 : v > PAY_MONTH_COUNT_CAP ? PAY_MONTH_COUNT_CAP : v;
	ps->month_log[slot] = (uint8_t)((ps->month_log[slot] & ~(3u << shift)) | ((unsigned)v << shift));
}

static int open_count(const struct pay_state *ps)
{
	int n = 0;
	while (n < PAY_OPEN_BILLS && ps->open_cents[n] > 0)
		n++;
	return n;
}

static void open_remove(struct pay_state *ps, int j)
{
	for (int k = j; k + 1 < PAY_OPEN_BILLS; k++) {
		ps->open_cents[k] = ps->open_cents[k + 1];
		ps->open_due[k] = ps->open_due[k + 1];
		ps->open_id[k] = ps->open_id[k + 1];
	}
	ps->open_cents[PAY_OPEN_BILLS - 1] = 0;
	ps->open_due[PAY_OPEN_BILLS - 1] = 0;
	ps->open_id[PAY_OPEN_BILLS - 1] = 0;
}

/* Adds debt to the older debt: `count` bills (or reopened payments) due on `due`. */
static void older_add(struct pay_state *ps, int32_t cents, uint16_t due, unsigned count)
{
	if (ps->carry_cents <= 0) {
		ps->older_due = due;
		older_count_set(ps, 0);
	} else if (due < ps->older_due) {
		ps->older_due = due;
	}
	ps->carry_cents = sat32((int64_t)ps->carry_cents + cents);
	older_count_set(ps, older_count(ps) + count);
}

/* Books `nbills` bills due on `due` as paid off on `day`: on time (by due month) or late
 * (by payoff month, with their days past due). */
static void paid_off(struct pay_state *ps, uint16_t due, int32_t day, unsigned nbills)
{
	ps->last_paid_due = due;
	if (day <= due) {
		log_add(ps, month_of(due), LOG_ON_TIME, (int)nbills);
		ps->flags |= PAY_F_LAST_ON_TIME;
		return;
	}
	ps->flags &= (uint8_t)~PAY_F_LAST_ON_TIME;
	ps->last_late_day = day16(day);
	int32_t m = month_of(day);
	log_add(ps, m, LOG_LATE, (int)nbills);
	int slot = month_slot(ps, m);
	if (slot >= 0) {
		int32_t dpd = day - due;
		if (dpd > PAY_DPD_CAP)
			dpd = PAY_DPD_CAP;
		if (dpd > ps->month_dpd[slot])
			ps->month_dpd[slot] = (uint8_t)dpd;
	}
}

static unsigned bills_in_rings(const struct pay_state *ps)
{
	unsigned n = 0;
	for (int i = 0; i < PAY_MONTHS; i++)
		n += log_get(ps->month_log[i], LOG_BILLS);
	return n;
}

void payments_bill(struct pay_state *ps, const char *bill_id, size_t id_len, double amount,
                   int32_t due_day, int32_t day)
{
	pay_begin(ps, day);
	int32_t cents = cents_of(amount);
	uint16_t due = day16(due_day);

	/* Running mean over the first bills, then an EWMA over about a year of them. */
	unsigned n = bills_in_rings(ps) + 1;
	double alpha = 1.0 / (double)(n < 12 ? n : 12);
	double a = amount > 0 ? amount : 0;
	ps->avg_bill = (float)(ps->avg_bill + (a - ps->avg_bill) * alpha);
	log_add(ps, month_of(due), LOG_BILLS, 1);

	if (ps->carry_cents < 0) {
		int32_t take = cents < -ps->carry_cents ? cents : -ps->carry_cents;
		ps->carry_cents += take;
		cents -= take;
	}
	if (cents == 0) {
		paid_off(ps, due, day, 1);
		return;
	}

	/* Insert by due date (after bills due the same day); when the list is full the oldest
	 * of the four moves to the older debt. */
	struct open_bill {
		int32_t cents;
		uint16_t due, id;
	} list[PAY_OPEN_BILLS + 1];
	struct open_bill bill = {cents, due, id_len ? bill_hash(bill_id, id_len) : 0};
	int k = 0, open = open_count(ps), placed = 0;
	for (int j = 0; j < open; j++) {
		if (!placed && due < ps->open_due[j]) {
			list[k++] = bill;
			placed = 1;
		}
		list[k++] = (struct open_bill){ps->open_cents[j], ps->open_due[j], ps->open_id[j]};
	}
	if (!placed)
		list[k++] = bill;
	int first = 0;
	if (k > PAY_OPEN_BILLS) {
		older_add(ps, list[0].cents, list[0].due, 1);
		first = 1;
	}
	for (int j = 0; j < PAY_OPEN_BILLS; j++) {
		int src = first + j;
		ps->open_cents[j] = src < k ? list[src].cents : 0;
		ps->open_due[j] = src < k ? list[src].due : 0;
		ps->open_id[j] = src < k ? list[src].id : 0;
	}
}

void payments_payment(struct pay_state *ps, double amount, const char *bill_id, size_t id_len,
                      int32_t day)
{
	pay_begin(ps, day);
	int32_t cents = cents_of(amount);
	ps->last_payment_day = day16(day);

	if (id_len > 0) {
		uint16_t h = bill_hash(bill_id, id_len);
		for (int j = 0; j < open_count(ps); j++) {
			if (ps->open_id[j] == h && ps->open_cents[j] <= cents) {
				uint16_t due = ps->open_due[j];
				cents -= ps->open_cents[j];
				open_remove(ps, j);
				paid_off(ps, due, day, 1);
				break;
			}
		}
	}
	while (cents > 0) {
		int open = open_count(ps);
		int older = ps->carry_cents > 0 && (open == 0 || ps->older_due <= ps->open_due[0]);
		if (older) {
			int32_t take = cents < ps->carry_cents ? cents : ps->carry_cents;
			ps->carry_cents -= take;
			cents -= take;
			if (ps->carry_cents == 0) {
				uint16_t due = ps->older_due;
				unsigned count = older_count(ps) ? older_count(ps) : 1;
				ps->older_due = 0;
				older_count_set(ps, 0);
				paid_off(ps, due, day, count);
			}
		} else if (open > 0) {
			int32_t take = cents < ps->open_cents[0] ? cents : ps->open_cents[0];
			ps->open_cents[0] -= take;
			cents -= take;
			if (ps->open_cents[0] == 0) {
				uint16_t due = ps->open_due[0];
				open_remove(ps, 0);
				paid_off(ps, due, day, 1);
			}
		} else {
			ps->carry_cents = sat32((int64_t)ps->carry_cents - cents);
			cents = 0;
		}
	}
}

/* The newest month of the rings holding a reversal, no later than month `until`; -1 none. */
static int32_t newest_reversal_month(const struct pay_state *ps, int32_t until)
{
	for (int32_t m = ps->head_month; m >= 0 && m > ps->head_month - PAY_MONTHS; m--)
		if (m <= until && log_get(ps->month_log[m % PAY_MONTHS], LOG_REVERSALS))
			return m;
	return -1;
}

/* Counts a reversal of day `day`, and keeps its day of the month when it is the newest. */
static void reversal_note(struct pay_state *ps, int32_t day)
{
	int32_t m = month_of(day), y, mo, dom;
	int32_t newest = newest_reversal_month(ps, DAY16_MAX);
	log_add(ps, m, LOG_REVERSALS, 1);
	if (newest_reversal_month(ps, DAY16_MAX) != m)
		return; /* older than the newest reversal, or out of the rings */
	civil_of(day, &y, &mo, &dom);
	if (newest != m || (unsigned)dom > reversal_dom(ps))
		ps->older_rev = (uint8_t)((ps->older_rev & ~REV_DOM_MASK) | (unsigned)dom << REV_DOM_SHIFT);
}

void payments_upgrade_from_v7(struct pay_state *ps)
{
	unsigned count = ps->older_rev; /* version 7 kept the whole byte as the bill count */
	ps->older_rev = 0;
	older_count_set(ps, count);
	if (newest_reversal_month(ps, DAY16_MAX) >= 0) /* that month's reversal: day unknown */
		ps->older_rev = (uint8_t)((ps->older_rev & ~REV_DOM_MASK) | 1u << REV_DOM_SHIFT);
}

void payments_reversal(struct pay_state *ps, double amount, int32_t day)
{
	pay_begin(ps, day);
	int32_t cents = cents_of(amount);
	reversal_note(ps, day);
	if (ps->carry_cents < 0) {
		int32_t take = cents < -ps->carry_cents ? cents : -ps->carry_cents;
		ps->carry_cents += take;
		cents -= take;
	}
	if (cents == 0)
		return;
	uint16_t due = ps->last_paid_due ? ps->last_paid_due : day16(day);
	if (ps->flags & PAY_F_LAST_ON_TIME) {
		log_add(ps, month_of(due), LOG_ON_TIME, -1);
		ps->flags &= (uint8_t)~PAY_F_LAST_ON_TIME;
	}
	older_add(ps, cents, due, 1);
}

void payments_start(struct pay_state *ps, int32_t since_day)
{
	ps->start_day = day16(since_day);
	ps->flags |= PAY_F_START_SET | PAY_F_START_PROFILE;
}

void payments_on_bill(struct cstate *cs, const struct event *ev, int32_t day)
{
	payments_bill(&cs->pay, ev->u.bill.bill_id, strlen(ev->u.bill.bill_id), ev->u.bill.amount,
	              ev->u.bill.due_date, day);
}

void payments_on_payment(struct cstate *cs, const struct event *ev, int32_t day)
{
	size_t id_len = (ev->has & EVENT_HAS_BILL_ID) ? strlen(ev->u.payment.bill_id) : 0;
	payments_payment(&cs->pay, ev->u.payment.amount, ev->u.payment.bill_id, id_len, day);
}

void payments_on_reversal(struct cstate *cs, const struct event *ev, int32_t day)
{
	payments_reversal(&cs->pay, ev->u.reversal.amount, day);
}

void payments_on_profile(struct cstate *cs, const struct event *ev)
{
	if (ev->has & EVENT_HAS_SINCE)
		payments_start(&cs->pay, ev->u.customer.since);
}

void payments_set_confirmed_theft(struct cstate *cs, int confirmed)
{
	if (confirmed)
		cs->pay.flags |= PAY_F_THEFT;
	else
		cs->pay.flags &= (uint8_t)~PAY_F_THEFT;
}

/* Oldest due date among unpaid debt, or 0 when nothing is owed. */
static int32_t oldest_due(const struct pay_state *ps)
{
	int32_t due = 0;
	if (ps->carry_cents > 0)
		due = ps->older_due;
	if (ps->open_cents[0] > 0 && (due == 0 || ps->open_due[0] < due))
		due = ps->open_due[0];
	return due;
}

int32_t payments_days_past_due(const struct pay_state *ps, int32_t today)
{
	int32_t due = oldest_due(ps);
	return due != 0 && today > due ? today - due : 0;
}

double payments_arrears(const struct pay_state *ps, int32_t today)
{
	int64_t cents = 0;
	if (ps->carry_cents > 0 && ps->older_due < today)
		cents += ps->carry_cents;
	for (int j = 0; j < PAY_OPEN_BILLS; j++)
		if (ps->open_cents[j] > 0 && ps->open_due[j] < today)
			cents += ps->open_cents[j];
	return (double)cents / 100.0;
}

double payments_balance_owed(const struct pay_state *ps)
{
	int64_t cents = ps->carry_cents > 0 ? ps->carry_cents : 0;
	for (int j = 0; j < PAY_OPEN_BILLS; j++)
		cents += ps->open_cents[j];
	return (double)cents / 100.0;
}

double payments_credit(const struct pay_state *ps)
{
	return ps->carry_cents < 0 ? -(double)ps->carry_cents / 100.0 : 0.0;
}

int32_t payments_last_payment_day(const struct pay_state *ps)
{
	return ps->last_payment_day ? ps->last_payment_day : INT32_MIN;
}

void payments_features(const struct cstate *cs, int32_t today, struct feature_vec *fv)
{
	const struct pay_state *ps = &cs->pay;
	static const enum feature_id owned[] = {
		FEAT_DAYS_PAST_DUE,    FEAT_MAX_DAYS_PAST_DUE_12M, FEAT_LATE_PAYMENTS_12M,
		FEAT_ON_TIME_SHARE_12M, FEAT_ARREARS_AMOUNT,       FEAT_ARREARS_RATIO,
		FEAT_REVERSALS_12M,    FEAT_TENURE_MONTHS,         FEAT_MONTHS_SINCE_LAST_LATE,
		FEAT_BILLS_12M,        FEAT_DAYS_SINCE_REVERSAL,
	};
	for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++)
		feature_unset(fv, owned[i]);
	feature_set(fv, FEAT_CONFIRMED_THEFT, (ps->flags & PAY_F_THEFT) ? 1 : 0);
	if (ps->flags & PAY_F_START_SET)
		feature_set(fv, FEAT_TENURE_MONTHS, months_between(ps->start_day, today));
	if (!(ps->flags & PAY_F_BILLING))
		return;

	int32_t tm = month_of(today);
	int32_t head = ps->head_month;
	unsigned bills_window = 0, bills_ahead = 0, on_time = 0, late = 0, reversals = 0;
	int32_t dpd_max = payments_days_past_due(ps, today);
	for (int32_t m = head - PAY_MONTHS + 1; m <= head; m++) {
		if (m < 0 || m < tm - 11)
			continue;
		uint8_t cell = ps->month_log[m % PAY_MONTHS];
		if (m > tm) {
			bills_ahead += log_get(cell, LOG_BILLS);
			continue;
		}
		bills_window += log_get(cell, LOG_BILLS);
		on_time += log_get(cell, LOG_ON_TIME);
		late += log_get(cell, LOG_LATE);
		reversals += log_get(cell, LOG_REVERSALS);
		if (ps->month_dpd[m % PAY_MONTHS] > dpd_max)
			dpd_max = ps->month_dpd[m % PAY_MONTHS];
	}
	/* Bills of this month not due yet and still open are not decided: leave them out. */
	unsigned undecided = 0;
	for (int j = 0; j < PAY_OPEN_BILLS; j++)
		if (ps->open_cents[j] > 0 && ps->open_due[j] >= today && month_of(ps->open_due[j]) <= tm)
			undecided++;
	unsigned decided = bills_window > undecided ? bills_window - undecided : 0;

	double arrears = payments_arrears(ps, today);
	feature_set(fv, FEAT_DAYS_PAST_DUE, payments_days_past_due(ps, today));
	feature_set(fv, FEAT_MAX_DAYS_PAST_DUE_12M, dpd_max);
	feature_set(fv, FEAT_LATE_PAYMENTS_12M, late);
	if (decided > 0)
		feature_set(fv, FEAT_ON_TIME_SHARE_12M,
		            (double)(on_time < decided ? on_time : decided) / (double)decided);
	feature_set(fv, FEAT_ARREARS_AMOUNT, arrears);
	if (ps->avg_bill > 0)
		feature_set(fv, FEAT_ARREARS_RATIO, arrears / ps->avg_bill);
	feature_set(fv, FEAT_REVERSALS_12M, reversals);
	/* The day of the month kept is the newest reversal's, so only that month has a day. */
	int32_t rev_month = newest_reversal_month(ps, tm);
	if (rev_month >= tm - 11 && rev_month >= 0 && reversal_dom(ps) &&
	    rev_month == newest_reversal_month(ps, DAY16_MAX)) {
		int32_t rev_day = first_day_of_month(rev_month) + (int32_t)reversal_dom(ps) - 1;
		feature_set(fv, FEAT_DAYS_SINCE_REVERSAL, today > rev_day ? today - rev_day : 0);
	}
	if (ps->last_late_day)
		feature_set(fv, FEAT_MONTHS_SINCE_LAST_LATE, months_between(ps->last_late_day, today));
	feature_set(fv, FEAT_BILLS_12M, bills_window + bills_ahead);
}

void payments_outcome_init(struct pay_outcome *o, int32_t start, int32_t end, int32_t threshold)
{
	memset(o, 0, sizeof *o);
	o->start = start;
	o->end = end;
	o->threshold = threshold;
}

void payments_outcome_before(struct pay_outcome *o, const struct pay_state *ps, int32_t day)
{
	if (o->closed || day <= o->start)
		return;
	int32_t check = day < o->end ? day : o->end;
	if (payments_days_past_due(ps, check) >= o->threshold)
		o->reached = 1;
	if (day > o->end)
		o->closed = 1;
}

void payments_outcome_finish(struct pay_outcome *o, const struct pay_state *ps)
{
	if (!o->closed && payments_days_past_due(ps, o->end) >= o->threshold)
		o->reached = 1;
	o->closed = 1;
}
