-- Runtime Finviz config with its audit trail, and Top-N snapshots per deployment with dropped duplicates.

-- AlterTable
ALTER TABLE "topn_snapshots" ADD COLUMN     "deployment" TEXT,
ADD COLUMN     "duplicates_dropped" INTEGER NOT NULL DEFAULT 0;

-- CreateTable
CREATE TABLE "finviz_config" (
    "deployment" TEXT NOT NULL,
    "url" TEXT,
    "top_n" INTEGER NOT NULL,
    "refresh_sec" DOUBLE PRECISION NOT NULL,
    "version" INTEGER NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    "updated_by" TEXT NOT NULL,

    CONSTRAINT "finviz_config_pkey" PRIMARY KEY ("deployment")
);

-- CreateTable
CREATE TABLE "finviz_config_audit" (
    "id" BIGSERIAL NOT NULL,
    "deployment" TEXT NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "actor" TEXT NOT NULL,
    "ip" TEXT,
    "user_agent" TEXT,
    "before" JSONB,
    "after" JSONB NOT NULL,

    CONSTRAINT "finviz_config_audit_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "topn_snapshots_deployment_fetched_at_idx" ON "topn_snapshots"("deployment", "fetched_at");

-- CreateIndex
CREATE INDEX "finviz_config_audit_deployment_at_idx" ON "finviz_config_audit"("deployment", "at");
