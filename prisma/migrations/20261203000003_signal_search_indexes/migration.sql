-- The console's filters by reason and by kind, newest first: without these, a rare reason or the
-- manual exits were found by walking received_at back through every other signal (tens of ms at
-- 1,000,000 rows, growing with the table). See bench/console.js.

-- CreateIndex
CREATE INDEX "signals_reason_received_at_idx" ON "signals"("reason", "received_at");

-- CreateIndex
CREATE INDEX "signals_kind_received_at_idx" ON "signals"("kind", "received_at");
