ALTER TABLE "users" ADD COLUMN "locale" text;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "zoneinfo" text;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "avatar_key" text;--> statement-breakpoint
ALTER TABLE "audit_events" ADD COLUMN "personal_salt" text;--> statement-breakpoint
ALTER TABLE "audit_events" ADD COLUMN "personal_commitment" text;--> statement-breakpoint
ALTER TABLE "audit_events" ADD COLUMN "link_version" smallint;