import { createRequire } from 'node:module';
import path from 'node:path';
import express, { type Express } from 'express';

/**
 * The API reference at /docs: Swagger UI reading /api/v1/openapi.json, its files served from the
 * swagger-ui-dist package, so the page works without reaching any CDN.
 */
export const DOCS_PATH = '/docs';

const assets = path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
const SERVED = new Set(['swagger-ui.css', 'swagger-ui-bundle.js', 'favicon-32x32.png']);

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>teamops API reference</title>
<link rel="icon" href="${DOCS_PATH}/assets/favicon-32x32.png">
<link rel="stylesheet" href="${DOCS_PATH}/assets/swagger-ui.css">
</head>
<body>
<div id="api-reference"></div>
<script src="${DOCS_PATH}/assets/swagger-ui-bundle.js"></script>
<script src="${DOCS_PATH}/init.js"></script>
</body>
</html>
`;

const INIT = `window.ui = SwaggerUIBundle({
  url: '/api/v1/openapi.json',
  dom_id: '#api-reference',
  deepLinking: true,
  persistAuthorization: false,
});
`;

export function mountApiReference(app: Express): void {
  const router = express.Router();
  router.get('/', (_req, res) => {
    res.type('html').set('Cache-Control', 'no-cache').send(PAGE);
  });
  router.get('/init.js', (_req, res) => {
    res.type('js').set('Cache-Control', 'no-cache').send(INIT);
  });
  router.get('/assets/:file', (req, res, next) => {
    if (!SERVED.has(req.params.file)) return next();
    res.sendFile(path.join(assets, req.params.file), { maxAge: '1d' });
  });
  app.use(DOCS_PATH, router);
}
