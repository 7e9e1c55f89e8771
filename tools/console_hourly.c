/*
 * console_hourly.c - the alert page's hour-by-hour grid (console_hourly.h).
 *
 * One row per day, one cell per local hour, shaded by the hour's energy against the largest
 * hour shown; a cell without a reading is drawn hatched rather than as zero, because a meter
 * that read nothing and a meter that read 0 kWh are different evidence. The top row is the
 * usual level of each hour over the days before, the firing days carry a marker.
 */
#include "console_hourly.h"

#include <math.h>
#include <string.h>

#include "alert_view.h"

enum {
	HOURS = 24,
	CELL_W = 34,
	CELL_H = 18,
	LABEL_W = 92,
	TOP = 22,
	MAX_DAYS = 21
};

/* Hour h of a 24-array of numbers or nulls: its value, NAN when absent. */
static double hour_value(const json_t *kwh, int h)
{
	const json_t *v = json_array_get(kwh, (size_t)h);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

/* The largest hour of the rows and the baseline: the shade's full scale. */
static double largest_hour(const json_t *hours, const json_t *baseline)
{
	double top = 0;
	size_t i;
	json_t *row;
	for (int h = 0; h < HOURS; h++)
		if (hour_value(baseline, h) > top)
			top = hour_value(baseline, h);
	json_array_foreach(hours, i, row)
		for (int h = 0; h < HOURS; h++)
			if (hour_value(json_object_get(row, "kwh"), h) > top)
				top = hour_value(json_object_get(row, "kwh"), h);
	return top;
}

/* One row of cells at y: label, then 24 hours of kwh shaded against top. */
static void grid_row(FILE *out, int y, const char *label, int firing, const json_t *kwh,
                     double top)
{
	fprintf(out, "<text x=\"%d\" y=\"%d\" class=\"%s\">", LABEL_W - 8, y + CELL_H - 5,
	           firing ? "hl firing" : "hl");
	view_html(out, label);
	fputs(firing ? " &#9650;</text>\n" : "</text>\n", out);
	for (int h = 0; h < HOURS; h++) {
		double v = hour_value(kwh, h);
		int x = LABEL_W + h * CELL_W;
		if (isnan(v)) {
			fprintf(out, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
			           "class=\"hnone\"><title>", x, y, CELL_W - 2, CELL_H - 2);
			view_html(out, label);
			fprintf(out, " %02d:00: no reading</title></rect>\n", h);
			continue;
		}
		double shade = top > 0 ? v / top : 0;
		if (shade < 0)
			shade = 0;
		fprintf(out, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" class=\"hcell\" "
		           "fill-opacity=\"%.3f\"><title>", x, y, CELL_W - 2, CELL_H - 2,
		           0.06 + 0.94 * shade);
		view_html(out, label);
		fprintf(out, " %02d:00: %.3f kWh</title></rect>\n", h, v);
	}
}

void console_hourly_section(FILE *out, const json_t *alert, const json_t *context)
{
	const json_t *hours = json_object_get(context, "hours");
	const json_t *baseline = json_object_get(context, "hour_baseline");
	const char *first = view_nz(view_str(alert, "first_day"));
	const char *last = view_nz(view_str(alert, "last_day"));
	size_t days = json_array_size(hours);

	fputs("<h2>Hour by hour around the firing days</h2>\n", out);
	if (days == 0) {
		fputs("<p class=\"muted\" id=\"hourly\">No hourly sums for these days: the meter "
		      "reads daily, or the days are not written yet.</p>\n", out);
		return;
	}
	if (days > MAX_DAYS)
		days = MAX_DAYS;
	double top = largest_hour(hours, baseline);
	int width = LABEL_W + HOURS * CELL_W;
	int height = TOP + (int)(days + 1) * CELL_H + 6;
	fprintf(out, "<svg id=\"hourly\" class=\"hourly\" viewBox=\"0 0 %d %d\" width=\"%d\" "
	           "height=\"%d\" role=\"img\" aria-label=\"Hourly energy of the customer, one row "
	           "a day\">\n", width, height, width, height);
	for (int h = 0; h < HOURS; h += 3)
		fprintf(out, "<text x=\"%d\" y=\"%d\" class=\"hh\">%02d</text>\n",
		           LABEL_W + h * CELL_W + 2, TOP - 6, h);
	grid_row(out, TOP, "usual", 0, baseline, top);
	for (size_t i = 0; i < days; i++) {
		const json_t *row = json_array_get(hours, i);
		const char *day = view_nz(view_str(row, "day"));
		int firing = strcmp(day, first) >= 0 && strcmp(day, last) <= 0;
		grid_row(out, TOP + (int)(i + 1) * CELL_H, day, firing, json_object_get(row, "kwh"),
		         top);
	}
	fputs("</svg>\n", out);
	fprintf(out, "<p class=\"muted\">Darker: more energy (full scale %.3f kWh in an hour). "
	           "Hatched: no reading in that hour. &#9650;: a firing day. \"usual\": each hour's "
	           "mean over the 28 days before the first firing day.</p>\n", top);
}
