-- The admin-action log: every state-changing admin action, who (which kind of credential, from
-- which address), what, on what, before and after, and how it ended. A row is written before the
-- action runs ('started') and finished after it, so an action is never done unlogged.
-- Positions may now be opened by hand (POST /positions/:ticker/open): such a position has no
-- signal that opened it.

-- CreateTable
CREATE TABLE "admin_actions" (
    "id" BIGSERIAL NOT NULL,
    "deployment" TEXT NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "token_kind" TEXT NOT NULL,
    "principal" TEXT NOT NULL,
    "address" TEXT,
    "action" TEXT NOT NULL,
    "target" TEXT,
    "before" JSONB,
    "after" JSONB,
    "outcome" TEXT NOT NULL,
    "http_status" INTEGER,
    "finished_at" TIMESTAMPTZ(3),

    CONSTRAINT "admin_actions_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "admin_actions_deployment_at_id_idx" ON "admin_actions"("deployment", "at", "id");

-- CreateIndex
CREATE INDEX "admin_actions_deployment_action_at_idx" ON "admin_actions"("deployment", "action", "at");

-- AlterTable
ALTER TABLE "positions" ALTER COLUMN "signal_id" DROP NOT NULL;
