/*
 * grade.h - credit grades: the grade scale (AAA best .. C worst) that credit rule files name
 * in `cap` and `floor` and that scorecards grade on, and the limits a credit policy sets on
 * one customer's grade.
 *
 * The scale sits here, below both users: rules/ (the credit rule set says "at most C") and
 * scoring/ (a scorecard turns points into a grade and applies the limits). detector/grader.c
 * evaluates the credit rule set into a struct grade_limits and hands it to the scorecard.
 */
#ifndef RISKD_GRADE_H
#define RISKD_GRADE_H

/* Credit grades, best first; RULE_GRADE_NONE when a credit rule sets no cap or floor. */
enum rule_grade {
	RULE_GRADE_NONE = -1,
	RULE_GRADE_AAA,
	RULE_GRADE_AA,
	RULE_GRADE_A,
	RULE_GRADE_B,
	RULE_GRADE_C,
	RULE_GRADE__COUNT
};

/* The grades' names as rule files and scorecards write them, best first: "AAA" .. "C". */
extern const char *const credit_grade_names[RULE_GRADE__COUNT];

/* "AAA" .. "C" for a grade; "" for RULE_GRADE_NONE or anything out of range. */
const char *credit_grade_name(enum rule_grade grade);

/*
 * What a credit policy says about one customer's grade: at most `cap`, at least `floor`
 * (RULE_GRADE_NONE: no limit), and the rule behind each, named in the reasons of a grade the
 * limit changed. The strings belong to whoever filled the struct (the credit rule set) and
 * must outlive the grading.
 */
struct grade_limits {
	enum rule_grade cap;
	enum rule_grade floor;
	const char *cap_code, *cap_text;     /* the rule setting cap: its id and title; NULL: none */
	const char *floor_code, *floor_text; /* the same for floor */
};

/* Limits that limit nothing: no cap, no floor, no rules. */
void grade_limits_clear(struct grade_limits *limits);

#endif
