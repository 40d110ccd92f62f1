// Starts the GraphQL playground (GraphiQL) on /graphql. Loaded after React, ReactDOM and
// GraphiQL, all served by this service from /graphql/assets/; kept in its own file so the page's
// Content-Security-Policy can say script-src 'self' with no inline script.
(function () {
  'use strict';

  var ENDPOINT = '/graphql';
  var DEFAULT_QUERY = '{ integratedCareTeams(first: 2) { edges { node { code name status } } } }';
  // Shown in the Headers editor on a first visit; a token pasted here is kept in this browser's
  // local storage (shouldPersistHeaders), so it survives reloads.
  var DEFAULT_HEADERS = '{\n  "Authorization": "Bearer <paste a token here>"\n}';

  // Posts the operation as JSON to our own origin, with whatever the Headers editor holds.
  // A response that is not JSON (a proxy's error page, say) is shown as a GraphQL error.
  function fetcher(params, opts) {
    var headers = { 'Content-Type': 'application/json', Accept: 'application/json' };
    var extra = (opts && opts.headers) || {};
    Object.keys(extra).forEach(function (name) {
      var value = extra[name];
      // The untouched placeholder is not a token: leave the request anonymous.
      if (/^authorization$/i.test(name) && /<paste a token here>/.test(String(value))) return;
      headers[name] = value;
    });
    return fetch(ENDPOINT, {
      method: 'POST',
      headers: headers,
      body: JSON.stringify(params),
      credentials: 'same-origin',
    }).then(function (res) {
      return res.text().then(function (text) {
        try {
          return JSON.parse(text);
        } catch (e) {
          return { errors: [{ message: 'HTTP ' + res.status + ' ' + res.statusText + ': ' + text.slice(0, 500) }] };
        }
      });
    });
  }

  // The page's CSP allows no inline styles except those carrying this response's nonce. The one
  // <style> element GraphiQL creates (scroll locking behind its dialogs, react-remove-scroll)
  // takes its nonce from this global, the name webpack's convention gave it.
  var script = document.currentScript;
  if (script && script.nonce) window.__webpack_nonce__ = script.nonce;

  var container = document.getElementById('graphiql');
  if (!window.React || !window.ReactDOM || !window.GraphiQL) {
    container.textContent = 'The GraphQL playground could not load its scripts from /graphql/assets/.';
    return;
  }
  ReactDOM.createRoot(container).render(
    React.createElement(
      GraphiQL,
      {
        fetcher: fetcher,
        defaultQuery: DEFAULT_QUERY,
        defaultHeaders: DEFAULT_HEADERS,
        shouldPersistHeaders: true,
        isHeadersEditorEnabled: true,
        defaultEditorToolsVisibility: 'headers',
      },
      // Our name in place of GraphiQL's logo (a link off the machine).
      React.createElement(GraphiQL.Logo, null, 'Primary care roles API'),
    ),
  );
})();
