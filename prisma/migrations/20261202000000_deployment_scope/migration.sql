-- Signals and open positions per deployment (KEY_PREFIX), as the Top-N history and the Finviz
-- config already are: deployments (or test runs) sharing one Postgres never list, replay or
-- trade on each other's. Rows written before this migration have no deployment: every
-- deployment sees those signals, and their positions load into every deployment's book.

-- AlterTable
ALTER TABLE "signals" ADD COLUMN "deployment" TEXT;

-- CreateIndex
CREATE INDEX "signals_deployment_status_updated_at_idx" ON "signals"("deployment", "status", "updated_at");

-- CreateIndex
CREATE INDEX "signals_deployment_received_at_idx" ON "signals"("deployment", "received_at");

-- AlterTable
ALTER TABLE "positions" ADD COLUMN "deployment" TEXT NOT NULL DEFAULT '';
ALTER TABLE "positions" DROP CONSTRAINT "positions_pkey";
ALTER TABLE "positions" ADD CONSTRAINT "positions_pkey" PRIMARY KEY ("deployment", "ticker");
