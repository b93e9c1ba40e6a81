# The image docker-compose.yml runs as both the web and the worker process.
FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY src ./src
COPY workers ./workers
COPY migrations ./migrations
USER node
EXPOSE 3000
CMD ["node", "src/main.ts"]
