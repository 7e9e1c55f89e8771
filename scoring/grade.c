/*
 * grade.c - names of the credit grades and the empty grade limits (see grade.h).
 */
#include "grade.h"

#include <stddef.h>

const char *const credit_grade_names[RULE_GRADE__COUNT] = {"AAA", "AA", "A", "B", "C"};

const char *credit_grade_name(enum rule_grade grade)
{
	return grade >= 0 && grade < RULE_GRADE__COUNT ? credit_grade_names[grade] : "";
}

void grade_limits_clear(struct grade_limits *limits)
{
	limits->cap = RULE_GRADE_NONE;
	limits->floor = RULE_GRADE_NONE;
	limits->cap_code = limits->cap_text = NULL;
	limits->floor_code = limits->floor_text = NULL;
}
