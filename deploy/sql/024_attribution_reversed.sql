-- 024_attribution_reversed.sql - the attribution's day-reversed regressor per customer
-- (docs/detection.md, "Joint attribution of an area's loss"; scoring/attrib.h).
--
-- A meter that reports its day's readings in reversed order keeps the day's total, so the
-- attribution tries a customer's day-reversed readings (its reading of the mirrored hour less
-- its own) as one more regressor when they stand out of what the rest of the fit leaves. Each
-- finding keeps its coefficient (about 1 for such a meter, the share of the window's days
-- reversed for one reversed from a day inside the window; 0 when the regressor did not join
-- the fit) and its z; they read as the features area_attrib_reversed_coef and
-- area_attrib_reversed_z. Findings written before this migration read 0 (not tried).

alter table risk.area_attribution
    add column reversed_coef real not null default 0,
    add column reversed_z    real not null default 0;
