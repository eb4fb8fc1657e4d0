import { defineConfig } from "vitest/config";

// In development (`npm run dev`) the API and the collaboration socket are proxied to a
// running Widen server; set WIDEN_DEV_BACKEND to point elsewhere than the default.
const backend = process.env.WIDEN_DEV_BACKEND ?? "http://127.0.0.1:8000";

export default defineConfig({
  base: "/",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
  },
  server: {
    proxy: {
      "/api": { target: backend, changeOrigin: false },
      "/ws": { target: backend.replace(/^http/, "ws"), ws: true, changeOrigin: false },
    },
  },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
