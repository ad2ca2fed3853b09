-- The console's search and detail view: the body as received (without the secret).

-- AlterTable
ALTER TABLE "signals" ADD COLUMN "received_body" JSONB;
