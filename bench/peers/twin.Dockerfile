# The floor for G4: the raw Bun.serve twin on the same distroless Bun base and HEALTHCHECK timings as the prod image
# (whose first probes ask /health/ready, a database round trip; the twin has only /health/live).
FROM oven/bun:1.4.5-distroless
WORKDIR /app
COPY plumbing.ts bun-serve.ts ./
USER 65532:65532
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --start-interval=500ms --retries=3 \
    CMD ["bun", "-e", "const r = await fetch(`http://127.0.0.1:${process.env.PORT ?? 3000}/health/live`); process.exit(r.ok ? 0 : 1)"]
ENTRYPOINT ["/usr/local/bin/bun", "--no-install"]
CMD ["bun-serve.ts"]
