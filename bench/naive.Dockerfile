# The naive baseline: the full Bun image, the whole context, every dependency, TypeScript run as is.
FROM oven/bun:1.4.5
WORKDIR /app
COPY . .
RUN bun install
CMD ["bun", "src/index.ts"]
