/*
 * test_inspection.c - end to end against the local stack: the energy a theft alert's customer
 * has stolen, its back-billing at the customer's tariff, and the field crews' inspection list.
 *
 * First on hand-built alerts (risk.raise_alert called as riskd calls it, with an estimate and
 * a price table): the amounts to the cent, each reason a price is missing for, and the
 * ranking of risk.v_inspection_list and `riskctl inspect` (--area, --budget, --csv).
 * Then on a small generated city with thieves, through mock Kafka and bin/riskd with a tariff
 * table in its config: every alert carries an estimate and an amount (or the reason it has
 * none), the review-queue messages carry both, the view ranks by expected recovered energy,
 * and `riskctl inspect --json --budget 3` returns the view's first three rows in order.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "tests/support/e2e.h"

#define CITY_CUSTOMERS 200
#define CITY_DAYS 45
#define CITY_SEED 11
#define CITY_THEFT_RATE "0.08"

/* The price table both tests give riskd: agricultural_flat has no price on purpose. */
#define TARIFFS_YAML                                                                              \
	"tariffs:\n  currency: EUR\n  prices:\n    residential_tiered: 0.21\n"                     \
	"    commercial_flat: 0.18\n    industrial_two_part: 0.12\n"
#define TARIFFS_JSON                                                                              \
	"{\"currency\":\"EUR\",\"prices\":{\"residential_tiered\":0.21,\"commercial_flat\":0.18,"   \
	"\"industrial_two_part\":0.12}}"

static void sql(const char *dsn, const char *query)
{
	PGconn *conn = PQconnectdb(dsn);
	cr_assert_eq(PQstatus(conn), CONNECTION_OK, "connect: %s", PQerrorMessage(conn));
	PGresult *res = PQexec(conn, query);
	cr_assert(PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK,
	          "%s: %s", query, PQerrorMessage(conn));
	PQclear(res);
	PQfinish(conn);
}

/* Appends the tariff table to w's config (write_config never writes a tariffs section). */
static void config_add_tariffs(const struct e2e_world *w)
{
	FILE *f = fopen(w->config, "a");
	cr_assert_not_null(f);
	fputs(TARIFFS_YAML, f);
	fclose(f);
}

/* Runs riskctl inspect with args and w's config, stdout into out; returns the exit status. */
static int inspect(const struct e2e_world *w, const char *args, char *out, size_t size)
{
	return e2e_run_capture(out, size, "env -u RISKD_PG_DSN '%s/riskctl' inspect --config '%s' %s",
	                       w->env.bin, w->config, args);
}

/* An alert raised as riskd raises it, with the estimate stolen (JSON) and TARIFFS_JSON. */
static void raise_with_estimate(const struct e2e_world *w, const char *customer, double score,
                                const char *stolen)
{
	char q[2048];
	snprintf(q, sizeof(q),
	         "select risk.raise_alert('%s', 'theft', date '2026-03-01', %g, 'high',"
	         " '[{\"id\":\"low_rule\",\"title\":\"Low\",\"score\":20,\"severity\":\"low\","
	         "\"evidence\":{\"x\":1}},{\"id\":\"top_rule\",\"title\":\"Top\",\"score\":%g,"
	         "\"severity\":\"high\",\"evidence\":{\"drop_ratio\":0.4}}]', 'theft-test',"
	         " '1.0.0', 'h', '[]', 50, null, '%s', '%s')",
	         customer, score, score - 20, stolen, TARIFFS_JSON);
	sql(w->dsn, q);
}

Test(inspection, amounts_reasons_and_ranking_of_hand_built_alerts, .timeout = 60)
{
	struct e2e_world w;
	char out[16384], text[256];
	e2e_world_new(&w, "insphand", 2, 100);
	config_add_tariffs(&w);
	sql(w.dsn, "insert into risk.customers (customer_id, segment, transformer_id, tariff) values"
	           " ('C1', 'residential', 'T1', 'residential_tiered'),"
	           " ('C2', 'residential', 'T1', 'mystery_tariff'),"
	           " ('C3', 'commercial', 'T2', null),"
	           " ('C4', 'residential', 'T2', 'residential_tiered')");
	/* expected kWh: C1 0.9 x 90 = 81, C2 0.5 x 200 = 100, C3 0.6 x 50 = 30, C4 none */
	raise_with_estimate(&w, "C1", 60,
	                    "{\"method\":\"shortfall\",\"from\":\"2026-01-31\",\"to\":\"2026-03-01\","
	                    "\"days\":30,\"known_days\":25,\"kwh\":90,\"kwh_low\":66.48,"
	                    "\"kwh_high\":113.52,\"kwh_day\":3,\"kwh_day_se\":0.4,\"z\":null,"
	                    "\"probability\":0.9}");
	raise_with_estimate(&w, "C2", 70,
	                    "{\"method\":\"attribution\",\"from\":\"2026-02-01\",\"to\":\"2026-03-01\","
	                    "\"days\":29,\"known_days\":29,\"kwh\":200,\"kwh_low\":150,"
	                    "\"kwh_high\":250,\"kwh_day\":6.897,\"kwh_day_se\":0.862,\"z\":8,"
	                    "\"probability\":0.5}");
	raise_with_estimate(&w, "C3", 55,
	                    "{\"method\":\"shortfall\",\"from\":\"2026-02-20\",\"to\":\"2026-03-01\","
	                    "\"days\":10,\"known_days\":10,\"kwh\":50,\"kwh_low\":40,\"kwh_high\":60,"
	                    "\"kwh_day\":5,\"kwh_day_se\":0.5,\"z\":null,\"probability\":0.6}");
	raise_with_estimate(&w, "C4", 90,
	                    "{\"method\":\"none\",\"from\":\"2026-01-01\",\"to\":\"2026-03-01\","
	                    "\"days\":60,\"known_days\":0,\"kwh\":null,\"kwh_low\":null,"
	                    "\"kwh_high\":null,\"kwh_day\":null,\"kwh_day_se\":null,\"z\":null,"
	                    "\"probability\":0.875}");

	/* C1: 90 kWh (66.48 .. 113.52) at 0.21 EUR */
	e2e_query_text(w.dsn, "select concat_ws('|', stolen_method, stolen_from, stolen_to, stolen_days,"
	                      " stolen_kwh, backbill_tariff, backbill_price, backbill_currency,"
	                      " backbill_amount, backbill_amount_low, backbill_amount_high,"
	                      " coalesce(backbill_reason, '-')) from risk.alerts where customer_id = 'C1'",
	               text, sizeof(text));
	cr_assert_str_eq(text, "shortfall|2026-01-31|2026-03-01|30|90|residential_tiered|0.21|EUR|"
	                       "18.90|13.96|23.84|-");
	/* C2: a tariff the table does not price: no amount, never a guessed one */
	e2e_query_text(w.dsn, "select concat_ws('|', stolen_kwh, stolen_z, backbill_tariff,"
	                      " coalesce(backbill_price::text, 'null'),"
	                      " coalesce(backbill_amount::text, 'null'), backbill_reason)"
	                      " from risk.alerts where customer_id = 'C2'", text, sizeof(text));
	cr_assert_str_eq(text, "200|8|mystery_tariff|null|null|tariff_unknown");
	e2e_query_text(w.dsn, "select concat_ws('|', coalesce(backbill_tariff, 'null'),"
	                      " coalesce(backbill_amount::text, 'null'), backbill_reason)"
	                      " from risk.alerts where customer_id = 'C3'", text, sizeof(text));
	cr_assert_str_eq(text, "null|null|tariff_missing");
	e2e_query_text(w.dsn, "select concat_ws('|', stolen_method,"
	                      " coalesce(stolen_kwh::text, 'null'), backbill_price, backbill_reason)"
	                      " from risk.alerts where customer_id = 'C4'", text, sizeof(text));
	cr_assert_str_eq(text, "none|null|0.21|no_estimate");

	/* the view's ranking, expected kWh and top evidence; the queue's new columns */
	e2e_query_text(w.dsn, "select string_agg(concat_ws(':', rank, customer_id,"
	                      " coalesce(round(expected_kwh::numeric, 3)::text, 'null'), top_rule,"
	                      " top_evidence::text), ' ' order by rank) from risk.v_inspection_list",
	               text, sizeof(text));
	cr_assert_str_eq(text, "1:C2:100.000:top_rule:{\"drop_ratio\": 0.4} "
	                       "2:C1:81.000:top_rule:{\"drop_ratio\": 0.4} "
	                       "3:C3:30.000:top_rule:{\"drop_ratio\": 0.4} "
	                       "4:C4:null:top_rule:{\"drop_ratio\": 0.4}");
	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.v_review_queue"
	                                  " where customer_id = 'C1' and stolen_kwh = 90"
	                                  " and backbill_amount = 18.90 and backbill_currency = 'EUR'"),
	             1);

	/* riskctl alerts show: text, --json, --html */
	cr_assert_eq(e2e_run_capture(out, sizeof(out), "env -u RISKD_PG_DSN '%s/riskctl' alerts show"
	                             " theft-C1-20260301 --config '%s'", w.env.bin, w.config), 0,
	             "%s", out);
	cr_assert_not_null(strstr(out, "  stolen energy   90.0 kWh (95% range 66.5 .. 113.5) from "
	                               "2026-01-31 to 2026-03-01 (30 days, 3.00 kWh a day), by "
	                               "shortfall; theft probability 0.90\n"), "%s", out);
	cr_assert_not_null(strstr(out, "  back-bill       18.90 EUR (95% range 13.96 .. 23.84) at "
	                               "tariff residential_tiered, 0.21 EUR a kWh\n"), "%s", out);
	cr_assert_eq(e2e_run_capture(out, sizeof(out), "env -u RISKD_PG_DSN '%s/riskctl' alerts show"
	                             " theft-C2-20260301 --config '%s'", w.env.bin, w.config), 0,
	             "%s", out);
	cr_assert_not_null(strstr(out, "no amount: tariff 'mystery_tariff' has no price in "
	                               "tariffs.prices (tariff_unknown)"), "%s", out);
	cr_assert_not_null(strstr(out, "by attribution, z 8.0;"), "%s", out);
	cr_assert_eq(e2e_run_capture(out, sizeof(out), "env -u RISKD_PG_DSN '%s/riskctl' alerts show"
	                             " theft-C1-20260301 --json --config '%s'", w.env.bin, w.config),
	             0, "%s", out);
	json_error_t jerr;
	json_t *detail = json_loads(out, 0, &jerr);
	cr_assert_not_null(detail, "%s: %s", jerr.text, out);
	cr_assert_float_eq(json_number_value(json_object_get(json_object_get(detail, "backbill"),
	                                                     "amount")), 18.90, 1e-9);
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(detail, "stolen_energy"),
	                                                   "method")), "shortfall");
	json_decref(detail);
	cr_assert_eq(e2e_run_capture(out, sizeof(out), "env -u RISKD_PG_DSN '%s/riskctl' alerts show"
	                             " theft-C1-20260301 --html --config '%s'", w.env.bin, w.config),
	             0, "%s", out);
	cr_assert_not_null(strstr(out, "<th>Back-bill</th><td>18.90 EUR (95% range 13.96 .. 23.84)"),
	                   "%s", out);

	/* riskctl inspect reads the view: --area keeps the view's ranks, --budget cuts */
	cr_assert_eq(inspect(&w, "--area T2 --json", out, sizeof(out)), 0, "%s", out);
	json_t *rows = json_loads(out, 0, &jerr);
	cr_assert_not_null(rows, "%s: %s", jerr.text, out);
	cr_assert_eq(json_array_size(rows), 2);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(rows, 0), "customer_id")),
	                 "C3");
	cr_assert_eq(json_integer_value(json_object_get(json_array_get(rows, 0), "rank")), 3);
	json_decref(rows);
	cr_assert_eq(inspect(&w, "--budget 2 --csv", out, sizeof(out)), 0, "%s", out);
	cr_assert(strncmp(out, "rank,alert_id,customer_id,transformer_id,segment,tariff,", 55) == 0,
	          "%s", out);
	cr_assert_not_null(strstr(out, "\r\n1,\"theft-C2-20260301\",\"C2\",\"T1\",\"residential\","
	                               "\"mystery_tariff\",\"open\",70,\"high\",0.5,100,200,150,250,"),
	                   "%s", out);
	cr_assert_not_null(strstr(out, "\r\n2,\"theft-C1-20260301\",\"C1\""), "%s", out);
	cr_assert_null(strstr(out, "C3"), "the budget cuts the list: %s", out);
	cr_assert_eq(inspect(&w, "--budget 2", out, sizeof(out)), 0, "%s", out);
	cr_assert_not_null(strstr(out, "no amount (tariff_unknown)"), "%s", out);
	cr_assert_not_null(strstr(out, "18.90 EUR"), "%s", out);
	cr_assert_eq(inspect(&w, "--budget 0", out, sizeof(out)), 2, "%s", out);
	cr_assert_not_null(strstr(out, "--budget must be a number of inspections in 1..1000000"));
	cr_assert_eq(inspect(&w, "--json --csv", out, sizeof(out)), 2, "%s", out);

	/* a closed alert leaves the list */
	sql(w.dsn, "update risk.alerts set status = 'closed', disposition = 'no_access', note = 'x'"
	           " where customer_id = 'C2'");
	e2e_query_text(w.dsn, "select string_agg(rank || ':' || customer_id, ' ' order by rank)"
	                      " from risk.v_inspection_list", text, sizeof(text));
	cr_assert_str_eq(text, "1:C1 2:C3 3:C4");
}

/* Counts the review-queue messages and those carrying both new keys as objects. */
struct message_count {
	size_t messages, with_estimate, priced;
};

static void count_message(const struct e2e_message *m, struct message_count *c)
{
	json_error_t jerr;
	json_t *msg = json_loads(m->payload, 0, &jerr);
	cr_assert_not_null(msg, "%s", jerr.text);
	c->messages++;
	const json_t *stolen = json_object_get(msg, "stolen_energy");
	const json_t *bill = json_object_get(msg, "backbill");
	cr_assert(json_is_string(json_object_get(msg, "alert_id")) &&
	          json_is_array(json_object_get(msg, "rules")), "existing keys stay: %s", m->payload);
	if (json_is_object(stolen) && json_is_string(json_object_get(stolen, "method")) &&
	    json_is_object(bill))
		c->with_estimate++;
	if (json_is_number(json_object_get(bill, "amount")))
		c->priced++;
	json_decref(msg);
}

Test(inspection, city_alerts_carry_stolen_energy_and_amounts, .timeout = 400)
{
	struct e2e_world w;
	char city[1400], labels[1400], out[65536], text[1024];
	e2e_world_new(&w, "inspcity", 24, 5000);
	config_add_tariffs(&w);
	snprintf(city, sizeof(city), "%s/city.jsonl", w.dir);
	snprintf(labels, sizeof(labels), "%s/labels.csv", w.dir);
	e2e_sh("'%s/riskctl' gen --customers %d --days %d --interval-s 3600 --seed %d"
	       " --theft-rate %s --labels '%s' > '%s' 2>/dev/null",
	       w.env.bin, CITY_CUSTOMERS, CITY_DAYS, CITY_SEED, CITY_THEFT_RATE, labels, city);
	pid_t pid = e2e_riskd_start(&w, "--until-idle 4");
	e2e_produce_file(&w, city);
	cr_assert_eq(e2e_wait(pid, 300), 0, "riskd failed (logs in %s)", w.dir);

	int64_t alerts = e2e_query_int(w.dsn, "select count(*) from risk.alerts where kind = 'theft'");
	cr_assert_geq(alerts, 5, "the city raises alerts");
	/* every alert has an estimate over a period ending with its latest firing */
	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.alerts where stolen_method is null"
	                                  " or stolen_to <> last_day or stolen_from > stolen_to"
	                                  " or stolen_days <> stolen_to - stolen_from + 1"
	                                  " or theft_probability not between 0.5 and 1"),
	             0);
	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.alerts where stolen_method <> 'none'"
	                                  " and not (0 <= stolen_kwh_low and stolen_kwh_low <= stolen_kwh"
	                                  " and stolen_kwh <= stolen_kwh_high)"),
	             0);
	/* each amount is the estimate at the profile's price, to the cent; each missing one says why */
	cr_assert_eq(e2e_query_int(w.dsn,
	                           "select count(*) from risk.alerts a join risk.customers c using"
	                           " (customer_id) where a.backbill_reason is null and"
	                           " a.backbill_amount is distinct from round((a.stolen_kwh * case"
	                           " c.tariff when 'residential_tiered' then 0.21 when 'commercial_flat'"
	                           " then 0.18 when 'industrial_two_part' then 0.12 end)::numeric, 2)"),
	             0);
	cr_assert_eq(e2e_query_int(w.dsn,
	                           "select count(*) from risk.alerts a join risk.customers c using"
	                           " (customer_id) where a.stolen_method <> 'none' and"
	                           " (coalesce(a.backbill_reason, '') = 'tariff_unknown')"
	                           " is distinct from (c.tariff = 'agricultural_flat')"),
	             0);
	cr_assert_gt(e2e_query_int(w.dsn, "select count(*) from risk.alerts"
	                                  " where backbill_amount > 0"), 0);

	/* a full bypass takes everything the meter would record: its estimate starts within a
	 * few days of the true onset and is positive */
	sql(w.dsn, "create table labels (customer_id text, pattern text, confounder boolean,"
	           " onset_day date)");
	e2e_sh("psql '%s' -XAtq -c \"\\copy labels from '%s' with (format csv, header)\"", w.dsn,
	       labels);
	e2e_query_text(w.dsn, "select count(*) || ':' || count(*) filter (where a.stolen_kwh > 0"
	                      " and abs(a.stolen_from - l.onset_day) <= 7) from risk.alerts a"
	                      " join labels l using (customer_id) where l.pattern = 'full_bypass'",
	               text, sizeof(text));
	cr_log_info("full bypass alerts : with a positive estimate starting within 7 days of the "
	            "onset = %s", text);
	char *colon = strchr(text, ':');
	cr_assert(colon && atoi(text) > 0 && atoi(text) == atoi(colon + 1), "%s", text);

	/* the review queue: the messages carry both keys, the view its columns */
	struct e2e_message *msgs = NULL;
	struct message_count count = {0};
	size_t n = e2e_read_topic(&w, w.topics[4], &msgs);
	for (size_t i = 0; i < n; i++)
		count_message(&msgs[i], &count);
	e2e_messages_free(msgs, n);
	cr_assert_gt(count.messages, 0);
	cr_assert_eq(count.with_estimate, count.messages, "%zu of %zu messages carry the estimate",
	             count.with_estimate, count.messages);
	cr_assert_gt(count.priced, 0);
	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.v_review_queue"
	                                  " where stolen_method is null"),
	             0);

	/* the list ranks by theft probability x stolen kWh, alerts without an estimate last */
	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.v_inspection_list"), alerts);
	cr_assert_eq(e2e_query_int(w.dsn,
	                           "select count(*) from (select rank, expected_kwh, lag(expected_kwh)"
	                           " over (order by rank) as before, lag(rank) over (order by rank)"
	                           " as rank_before from risk.v_inspection_list) v"
	                           " where (before is null and expected_kwh is not null and rank > 1)"
	                           " or before < expected_kwh or rank <> coalesce(rank_before, 0) + 1"),
	             0);
	cr_assert_eq(e2e_query_int(w.dsn, "select count(*) from risk.v_inspection_list"
	                                  " where expected_kwh is distinct from probability * stolen_kwh"
	                                  " or top_rule is null or segment is null"),
	             0);
	char state[8];
	e2e_sql_state(w.dsn, "risk_dashboard", "select * from risk.v_inspection_list", state,
	              sizeof(state));
	cr_assert_str_eq(state, "", "risk_dashboard reads the list");
	e2e_sql_state(w.dsn, "risk_analyst", "select * from risk.v_inspection_list", state,
	              sizeof(state));
	cr_assert_str_eq(state, "", "risk_analyst reads the list");

	/* riskctl inspect --json --budget 3: the view's first three rows, in order */
	cr_assert_eq(inspect(&w, "--json --budget 3", out, sizeof(out)), 0, "%s", out);
	json_error_t jerr;
	json_t *rows = json_loads(out, 0, &jerr);
	cr_assert_not_null(rows, "%s: %s", jerr.text, out);
	cr_assert_eq(json_array_size(rows), 3);
	e2e_query_text(w.dsn, "select string_agg(alert_id, ' ' order by rank) from"
	                      " risk.v_inspection_list where rank <= 3", text, sizeof(text));
	char got[1024] = "";
	double last = INFINITY;
	for (size_t i = 0; i < 3; i++) {
		const json_t *r = json_array_get(rows, i);
		double expected = json_number_value(json_object_get(r, "expected_kwh"));
		cr_assert_eq(json_integer_value(json_object_get(r, "rank")), (json_int_t)i + 1);
		cr_assert_leq(expected, last, "row %zu ranks above a larger expected recovery", i + 1);
		last = expected;
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", i ? " " : "",
		         json_string_value(json_object_get(r, "alert_id")));
	}
	cr_assert_str_eq(got, text);
	json_decref(rows);
}
