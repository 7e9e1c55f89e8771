/*
 * config_expand.c - ${NAME} in the config file's string values, replaced by the environment
 * variable NAME when the file is loaded, so that passwords and tokens need not sit in the
 * YAML. "$${" writes a literal "${". An unset variable is an error, never an empty value;
 * messages name the variable and never show its value.
 */
#include "config/config_int.h"
#include "config/riskd_base.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Environment variable names: a letter or '_', then letters, digits and '_'. */
static int is_name_char(char c, int first)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' ||
	       (!first && c >= '0' && c <= '9');
}

/* Appends src[0..n) to out at *used; returns 0, or -1 when it does not fit. */
static int append(char *out, size_t out_size, size_t *used, const char *src, size_t n)
{
	if (n >= out_size - *used)
		return -1;
	memcpy(out + *used, src, n);
	*used += n;
	return 0;
}

int config_expand_env(const char *text, size_t len, char *out, size_t out_size, size_t *out_len,
                      int *expanded, char *why, size_t why_size)
{
	size_t used = 0;
	*expanded = 0;
	for (size_t i = 0; i < len;) {
		if (text[i] == '$' && i + 2 < len && text[i + 1] == '$' && text[i + 2] == '{') {
			if (append(out, out_size, &used, "${", 2))
				goto too_long;
			i += 3;
			continue;
		}
		if (!(text[i] == '$' && i + 1 < len && text[i + 1] == '{')) {
			if (append(out, out_size, &used, text + i, 1))
				goto too_long;
			i++;
			continue;
		}
		const char *name = text + i + 2;
		const char *close = memchr(name, '}', len - (i + 2));
		if (!close) {
			snprintf(why, why_size, "'${' without a closing '}' (write $${ for a literal ${)");
			return RISKD_ERR_INVALID;
		}
		size_t name_len = (size_t)(close - name);
		int ok = name_len > 0 && name_len < 256;
		for (size_t k = 0; ok && k < name_len; k++)
			ok = is_name_char(name[k], k == 0);
		char shown[CONFIG_SHOW_MAX + 4];
		if (!ok) {
			snprintf(why, why_size, "'${%s}' does not name an environment variable (letters, "
			         "digits and '_'; write $${ for a literal ${)",
			         config_value_show(shown, sizeof shown, name, name_len));
			return RISKD_ERR_INVALID;
		}
		char var[256];
		memcpy(var, name, name_len);
		var[name_len] = '\0';
		const char *value = getenv(var);
		if (!value) {
			snprintf(why, why_size, "environment variable %s is not set", var);
			return RISKD_ERR_INVALID;
		}
		if (append(out, out_size, &used, value, strlen(value))) {
			snprintf(why, why_size, "the value is longer than %zu bytes with ${%s} expanded",
			         out_size - 1, var);
			return RISKD_ERR_RANGE;
		}
		*expanded = 1;
		i = (size_t)(close - text) + 1;
	}
	out[used] = '\0';
	*out_len = used;
	return 0;
too_long:
	snprintf(why, why_size, "the value is longer than %zu bytes", out_size - 1);
	return RISKD_ERR_RANGE;
}
