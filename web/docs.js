/* /docs: Swagger UI (swagger-ui-dist from npm, compiled into hdp) of /openapi.json. Nothing
 * is fetched from elsewhere: the online validator badge is off. */
window.ui = SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  validatorUrl: null,
  docExpansion: 'list',
  defaultModelsExpandDepth: 0,
});
