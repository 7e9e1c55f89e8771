/*
 * config_stackenv.c - one line of the local stack's env file (var/stack.env: KEY='VALUE'
 * lines a shell can source), as config_apply_stack_env reads it.
 */
#include <stdio.h>
#include <string.h>

#include "config_int.h"
#include "riskd_base.h"

/* config_int.h */
int config_stack_env_parse_line(char *line, char **name, char **value, char *why,
                                size_t why_size)
{
	char shown[CONFIG_SHOW_MAX + 4];
	size_t n = strlen(line);
	*name = NULL;
	while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
		line[--n] = '\0';
	while (*line == ' ' || *line == '\t')
		line++;
	if (*line == '\0' || *line == '#')
		return 0;
	if (strncmp(line, "export ", 7) == 0) {
		line += 7;
		while (*line == ' ' || *line == '\t')
			line++;
	}
	char *eq = strchr(line, '=');
	if (!eq || eq == line) {
		snprintf(why, why_size, "expected KEY=VALUE, got '%s'",
		         config_value_show(shown, sizeof shown, line, strlen(line)));
		return RISKD_ERR_INVALID;
	}
	char *name_end = eq;
	while (name_end > line && (name_end[-1] == ' ' || name_end[-1] == '\t'))
		name_end--;
	*name_end = '\0';
	char *v = eq + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	size_t vlen = strlen(v);
	if (v[0] == '"' || v[0] == '\'') {
		if (vlen < 2 || v[vlen - 1] != v[0]) {
			snprintf(why, why_size, "%s: the value's opening quote is never closed", line);
			return RISKD_ERR_INVALID;
		}
		v[vlen - 1] = '\0';
		v++;
	}
	*name = line;
	*value = v;
	return 0;
}
