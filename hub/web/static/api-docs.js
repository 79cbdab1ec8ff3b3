// The /api/docs page: Swagger UI (vendored in swagger-ui/) showing /api/openapi.json. Kept out
// of the page so that its Content-Security-Policy allows no inline script.
"use strict";
window.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.url,
    domNode: root,
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    // nothing leaves the page: no validator badge calling out, no remote configuration
    validatorUrl: null,
    queryConfigEnabled: false,
    persistAuthorization: false,
  });
});
