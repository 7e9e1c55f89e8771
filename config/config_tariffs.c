/*
 * config_tariffs.c - tariffs.prices, the price table of back-billing: a mapping of the tariff
 * codes customer profiles name to a price per kWh (in tariffs.currency), read strictly like
 * every other key, and its JSON form, which riskd hands PostgreSQL with the alerts it raises
 * (deploy/sql/015_inspection.sql prices each alert's stolen energy with it).
 */
#include "config/config_int.h"
#include "config/riskd_base.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CONFIG_STRINGIFY_(x) #x
#define CONFIG_STRINGIFY(x) CONFIG_STRINGIFY_(x)

/* Highest price per kWh accepted: anything above is a typing slip (a price in cents?). */
#define TARIFF_PRICE_MAX 1000.0
/* Significant digits of a price in the JSON: a price written with up to 15 reads back as
 * written (strtod, then %.15g). */
#define TARIFF_PRICE_DIGITS 15

/* A code as profiles write it: 1..RISKD_SHORT_TEXT_MAX bytes, no control characters. */
static int code_ok(const char *code, size_t len)
{
	if (len == 0 || len > RISKD_SHORT_TEXT_MAX)
		return 0;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)code[i] < 0x20 || code[i] == 0x7f)
			return 0;
	return 1;
}

/* Stores one entry; the live event is its value node, code the key as written. */
static int tariff_add(struct config_loader *ld, void *arg, const char *key_name,
                      const char *code, size_t code_len, int line)
{
	struct config_tariffs *tariffs = arg;
	char shown[CONFIG_SHOW_MAX + 4];
	const yaml_event_t *ev = config_loader_event(ld);
	if (ev->type != YAML_SCALAR_EVENT)
		return config_loader_fail(ld, config_loader_line(ld), RISKD_ERR_INVALID,
		                          "%s: %.*s: expected a price per kWh, got %s", key_name,
		                          (int)code_len, code, config_node_noun(ev));
	const char *text = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	char *end = NULL;
	double price = len ? strtod(text, &end) : NAN;
	if (config_scalar_is_null(ev) || ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
	    end != text + len || !isfinite(price) || text[0] == ' ' || text[0] == '\t')
		return config_loader_fail(ld, config_loader_line(ld), RISKD_ERR_INVALID,
		                          "%s: %.*s: expected a price per kWh (a plain number), got '%s'",
		                          key_name, (int)code_len, code,
		                          config_value_show(shown, sizeof shown, text, len));
	if (price < 0 || price > TARIFF_PRICE_MAX)
		return config_loader_fail(ld, config_loader_line(ld), RISKD_ERR_RANGE,
		                          "%s: %.*s: %s is out of range 0..%g", key_name, (int)code_len,
		                          code, config_value_show(shown, sizeof shown, text, len),
		                          TARIFF_PRICE_MAX);
	for (int i = 0; i < tariffs->count; i++)
		if (strlen(tariffs->items[i].code) == code_len &&
		    memcmp(tariffs->items[i].code, code, code_len) == 0)
			return config_loader_fail(ld, line, RISKD_ERR_INVALID,
			                          "%s: duplicate tariff '%.*s' (first on line %d)", key_name,
			                          (int)code_len, code, tariffs->items[i].line);
	if (tariffs->count == CONFIG_TARIFFS_MAX)
		return config_loader_fail(ld, line, RISKD_ERR_RANGE, "%s: more than %d tariffs",
		                          key_name, CONFIG_TARIFFS_MAX);
	struct config_tariff *t = &tariffs->items[tariffs->count++];
	memcpy(t->code, code, code_len);
	t->code[code_len] = '\0';
	t->price = price;
	t->line = line;
	return 0;
}

int config_tariffs_read(struct config_loader *ld, const char *key_name,
                        struct config_tariffs *tariffs)
{
	static const struct config_map_shape shape = {
	    "tariff codes to prices", "a tariff code",
	    "a tariff code (1.." CONFIG_STRINGIFY(RISKD_SHORT_TEXT_MAX) " bytes, no control "
	    "characters)", code_ok, tariff_add};
	memset(tariffs, 0, sizeof *tariffs);
	return config_map_read(ld, key_name, &shape, tariffs);
}

void config_tariffs_json(const struct config_tariffs *tariffs, const char *currency,
                         struct rbuf *out)
{
	rbuf_puts(out, "{\"currency\":");
	if (currency && currency[0])
		rbuf_json_string(out, currency);
	else
		rbuf_puts(out, "null");
	rbuf_puts(out, ",\"prices\":{");
	for (int i = 0; i < tariffs->count; i++) {
		if (i)
			rbuf_append(out, ",", 1);
		rbuf_json_string(out, tariffs->items[i].code);
		rbuf_append(out, ":", 1);
		rbuf_json_number(out, tariffs->items[i].price, TARIFF_PRICE_DIGITS);
	}
	rbuf_puts(out, "}}");
}
