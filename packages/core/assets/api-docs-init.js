// GET /docs: starts Swagger UI over the documents the page names in data-documents. A file of its
// own (GET /docs/assets/api-docs-init.js), because the page's Content-Security-Policy allows no
// inline script.
/* global document, window, SwaggerUIBundle, SwaggerUIStandalonePreset */
'use strict';

const root = document.getElementById('swagger-ui');
const documents = JSON.parse(root.dataset.documents);

window.ui = SwaggerUIBundle({
  urls: documents,
  'urls.primaryName': documents[0].name,
  dom_id: '#swagger-ui',
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: 'StandaloneLayout',
  deepLinking: true,
  // Never load a document or a configuration named in the page's URL, and never ask the public
  // validator about ours: /docs shows what this service serves, nothing else.
  queryConfigEnabled: false,
  validatorUrl: null,
});
