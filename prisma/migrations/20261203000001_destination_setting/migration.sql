-- The destination set at runtime (GET/POST /admin/destination on the forwarder), one row per deployment.

-- CreateTable
CREATE TABLE "destination_setting" (
    "deployment" TEXT NOT NULL,
    "url" TEXT NOT NULL,
    "timeout_ms" INTEGER NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "destination_setting_pkey" PRIMARY KEY ("deployment")
);
