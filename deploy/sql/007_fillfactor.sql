-- 007_fillfactor.sql - room on each page for the rows riskd rewrites batch after batch.
--
-- Every batch upserts the state snapshot of each customer it touched and adds to the day's
-- energy of each customer-day: the same rows again and again. With free space on the page
-- PostgreSQL can update such a row in place of a new index entry (a HOT update), which makes
-- those upserts cheaper and keeps the indexes small.
alter table risk.entity_state set (fillfactor = 50);
alter table risk.daily_usage set (fillfactor = 70);
alter table risk.transformer_daily set (fillfactor = 70);
alter table risk.customer_credit set (fillfactor = 70);
