-- Strategies: named Finviz screeners. The active one is the screener config (finviz_config.strategy_id).

-- CreateTable
CREATE TABLE "strategies" (
    "id" UUID NOT NULL,
    "deployment" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "url" TEXT NOT NULL,
    "top_n" INTEGER NOT NULL,
    "refresh_sec" DOUBLE PRECISION NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "strategies_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "strategies_deployment_name_key" ON "strategies"("deployment", "name");

-- AlterTable
ALTER TABLE "finviz_config" ADD COLUMN "strategy_id" UUID;
