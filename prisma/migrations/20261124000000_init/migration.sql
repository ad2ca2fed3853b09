-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateTable
CREATE TABLE "signals" (
    "id" UUID NOT NULL,
    "kind" TEXT NOT NULL,
    "ticker" TEXT NOT NULL,
    "side" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "price" DOUBLE PRECISION,
    "time" TIMESTAMPTZ(3) NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL,
    "status" TEXT NOT NULL,
    "reason" TEXT,
    "basis" TEXT,
    "rank" INTEGER,
    "snapshot_id" TEXT,
    "idempotency_key" TEXT,
    "body" JSONB NOT NULL,
    "decided_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "signals_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "deliveries" (
    "id" BIGSERIAL NOT NULL,
    "signal_id" UUID NOT NULL,
    "attempt" INTEGER NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL,
    "http_status" INTEGER,
    "latency_ms" INTEGER NOT NULL,
    "error" TEXT,

    CONSTRAINT "deliveries_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "positions" (
    "ticker" TEXT NOT NULL,
    "opened_at" TIMESTAMPTZ(3) NOT NULL,
    "last_price" DOUBLE PRECISION,
    "signal_id" UUID NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "positions_pkey" PRIMARY KEY ("ticker")
);

-- CreateTable
CREATE TABLE "topn_snapshots" (
    "id" TEXT NOT NULL,
    "tickers" TEXT[],
    "top_n" INTEGER NOT NULL,
    "fetched_at" TIMESTAMPTZ(3) NOT NULL,
    "source" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "topn_snapshots_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "signals_received_at_idx" ON "signals"("received_at");

-- CreateIndex
CREATE INDEX "signals_ticker_received_at_idx" ON "signals"("ticker", "received_at");

-- CreateIndex
CREATE INDEX "signals_status_received_at_idx" ON "signals"("status", "received_at");

-- CreateIndex
CREATE UNIQUE INDEX "deliveries_signal_id_attempt_key" ON "deliveries"("signal_id", "attempt");

-- CreateIndex
CREATE INDEX "topn_snapshots_fetched_at_idx" ON "topn_snapshots"("fetched_at");

-- AddForeignKey
ALTER TABLE "deliveries" ADD CONSTRAINT "deliveries_signal_id_fkey" FOREIGN KEY ("signal_id") REFERENCES "signals"("id") ON DELETE CASCADE ON UPDATE CASCADE;

