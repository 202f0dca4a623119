DROP INDEX "click_events_log_idx";--> statement-breakpoint
CREATE INDEX "click_events_log_time_idx" ON "click_events" USING btree ("log_id","occurred_at");