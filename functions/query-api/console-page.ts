import { createHash } from 'node:crypto';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { INDICATOR_TYPES } from '../domain/indicator.ts';

/**
 * GET /: a small read-only console. The page is static and public; what it shows it reads from this API in
 * the browser with the key the user types (`x-api-key`), so it sees exactly what that key may see. Values
 * are threat data from outside: the script puts every one in the DOM as text (`textContent`), never as
 * markup, and the Content-Security-Policy allows only this script and style (by hash) and requests to this
 * origin.
 */

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1b1f24; }
h1 { font-size: 1.3rem; margin: 0 0 1rem; }
h2 { font-size: 1.05rem; margin: 1.5rem 0 .5rem; }
form { display: flex; gap: .5rem; align-items: center; margin-bottom: .5rem; flex-wrap: wrap; }
input, select, button { font: inherit; padding: .25rem .5rem; }
input[type=search] { min-width: 24rem; }
table { border-collapse: collapse; margin-bottom: .5rem; }
th, td { text-align: left; padding: .15rem .6rem; border-bottom: 1px solid #d8dee4; vertical-align: top; }
td { font-family: ui-monospace, monospace; font-size: 12.5px; overflow-wrap: anywhere; max-width: 40rem; }
.note { color: #57606a; }
.error { color: #b3261e; }
`;

const SCRIPT = `
'use strict';
(function () {
  var base = location.pathname.endsWith('/') ? location.pathname : location.pathname + '/';
  var types = document.body.getAttribute('data-types').split(' ');
  var key = '';
  var $ = function (id) { return document.getElementById(id); };

  /** An element with text children only: untrusted strings never become markup. */
  function el(tag, attributes, children) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) { node.setAttribute(name, attributes[name]); });
    (children || []).forEach(function (child) {
      node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
    });
    return node;
  }
  function text(value) { return value === null || value === undefined ? '-' : String(value); }
  function show(id, nodes) { $(id).replaceChildren.apply($(id), nodes); }
  function note(message, className) { return el('p', { class: className || 'note' }, [message]); }
  function table(headers, rows, label) {
    return el('table', { 'aria-label': label }, [
      el('thead', {}, [el('tr', {}, headers.map(function (h) { return el('th', {}, [h]); }))]),
      el('tbody', {}, rows.map(function (row) {
        return el('tr', {}, row.map(function (cell) { return el('td', {}, [text(cell)]); }));
      })),
    ]);
  }

  /** GET a route of this API with the key: the JSON answer, or an Error with the status and reason. */
  function get(path) {
    return fetch(base + path, { headers: { 'x-api-key': key } }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (response.ok) return body;
        var error = new Error(response.status + ' ' + text(body.error || body.message));
        error.status = response.status;
        throw error;
      });
    });
  }
  function failed(id) {
    return function (error) { show(id, [note(error.message, 'error')]); };
  }

  function indicatorRows(indicators) {
    return indicators.map(function (i) {
      return [i.type, i.value, i.tlp, i.confidence, i.lastSeen, i.lastReceived,
        i.sources.map(function (s) { return s.feedId; }).join(', ')];
    });
  }
  var INDICATOR_HEADERS = ['type', 'value', 'tlp', 'confidence', 'lastSeen', 'lastReceived', 'feeds'];

  function loadPipelines() {
    return get('status/pipelines?limit=20').then(function (body) {
      show('pipelines', [body.documents.length === 0 ? note('No documents in the last 7 days.') :
        table(['document', 'feed', 'status', 'records', 'loaded', 'duplicates', 'quarantined', 'rejected', 'failed'],
          body.documents.map(function (d) {
            var c = d.counts;
            return [d.documentId, d.feedId, d.status, c.records, c.loaded, c.duplicates, c.quarantined, c.rejected, c.failed];
          }), 'pipelines')]);
    }, failed('pipelines'));
  }

  function loadFeeds() {
    return get('status/feeds').then(function (body) {
      show('feeds', [table(['feed', 'last document', 'status', 'recent documents', 'loaded', 'quarantined', 'rejected'],
        body.feeds.map(function (f) {
          var c = f.recentCounts;
          return [f.feedId, f.lastDocumentAt, f.lastStatus, f.recentDocuments, c.loaded, c.quarantined, c.rejected];
        }), 'feeds')]);
    }, failed('feeds'));
  }

  /** Per type, the newest 200 (a type with more says 200+); the latest 25 of them across types. */
  function loadIndicators() {
    var per = 200;
    return Promise.all(types.map(function (type) {
      return get('indicators?type=' + type + '&limit=' + per).then(function (body) {
        return { type: type, indicators: body.indicators, more: body.cursor !== null };
      });
    })).then(function (pages) {
      var counts = pages.filter(function (p) { return p.indicators.length > 0; }).map(function (p) {
        return [p.type, p.indicators.length + (p.more ? '+' : '')];
      });
      show('types', [counts.length === 0 ? note('No indicators yet.') : table(['type', 'indicators'], counts, 'types')]);
      var latest = [].concat.apply([], pages.map(function (p) { return p.indicators; }))
        .sort(function (a, b) { return a.lastReceived < b.lastReceived ? 1 : a.lastReceived > b.lastReceived ? -1 : 0; })
        .slice(0, 25);
      show('latest', [table(INDICATOR_HEADERS, indicatorRows(latest), 'latest indicators')]);
    }, function (error) { failed('types')(error); failed('latest')(error); });
  }

  function loadQuarantine() {
    return get('quarantine?limit=50').then(function (body) {
      show('quarantine', [body.records.length === 0 ? note('Nothing quarantined.') :
        table(['feed', 'stage', 'status', 'reason', 'type', 'value', 'quarantined at'],
          body.records.map(function (r) {
            return [r.feedId, r.stage, r.status, r.reason, r.type, r.value, r.quarantinedAt];
          }), 'quarantine')]);
    }, function (error) {
      show('quarantine', [error.status === 403 ? note('Operator key needed to see quarantined records.') :
        note(error.message, 'error')]);
    });
  }

  /** One value with a type: GET /indicators/{type}/{value}; else every value given: GET /indicators?value=. */
  function search(event) {
    event.preventDefault();
    var values = $('query').value.split(/[\\s,]+/).filter(function (v) { return v !== ''; });
    var type = $('type').value;
    if (values.length === 0) return;
    show('results', [note('Searching…')]);
    var lookup = type && values.length === 1
      ? get('indicators/' + encodeURIComponent(type) + '/' + encodeURIComponent(values[0])).then(
        function (indicator) { return { indicators: [indicator], notFound: [] }; },
        function (error) { if (error.status === 404) return { indicators: [], notFound: values }; throw error; })
      : get('indicators?' + values.map(function (v) { return 'value=' + encodeURIComponent(v); }).join('&') +
        (type ? '&type=' + encodeURIComponent(type) : ''));
    lookup.then(function (body) {
      var nodes = [];
      if (body.indicators.length > 0) nodes.push(table(INDICATOR_HEADERS, indicatorRows(body.indicators), 'search results'));
      if (body.notFound.length > 0) nodes.push(note('Not found: ' + body.notFound.join(', ')));
      show('results', nodes);
    }, failed('results'));
  }

  $('key-form').addEventListener('submit', function (event) {
    event.preventDefault();
    key = $('key').value;
    $('search-form').hidden = false;
    show('state', [note('Loading…')]);
    Promise.all([loadPipelines(), loadFeeds(), loadIndicators(), loadQuarantine()]).then(function () {
      show('state', [note('Loaded ' + new Date().toISOString() + '.')]);
    });
  });
  types.forEach(function (type) { $('type').appendChild(el('option', { value: type }, [type])); });
  $('search-form').addEventListener('submit', search);
})();
`;

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

const POLICY = [
  "default-src 'none'",
  `script-src ${sha256(SCRIPT)}`,
  `style-src ${sha256(STYLE)}`,
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>cti-ingest</title>
<style>${STYLE}</style>
</head>
<body data-types="${INDICATOR_TYPES.join(' ')}">
<h1>cti-ingest</h1>
<form id="key-form">
  <label for="key">API key</label>
  <input id="key" type="password" autocomplete="off" required>
  <button type="submit">Show</button>
</form>
<div id="state"><p class="note">Enter a reader or operator key; the page reads this API with it.</p></div>
<h2>Search</h2>
<form id="search-form" hidden>
  <input id="query" type="search" aria-label="values" placeholder="values as pasted: 1.2.3[.]4, hxxp://evil[.]com/…">
  <select id="type" aria-label="type"><option value="">any type</option></select>
  <button type="submit">Search</button>
</form>
<div id="results"></div>
<h2>Pipelines</h2>
<div id="pipelines"></div>
<h2>Feeds</h2>
<div id="feeds"></div>
<h2>Indicators per type (the newest 200 of each counted)</h2>
<div id="types"></div>
<h2>Latest indicators</h2>
<div id="latest"></div>
<h2>Quarantine</h2>
<div id="quarantine"></div>
<script>${SCRIPT}</script>
</body>
</html>
`;

export function consolePage(): APIGatewayProxyResult {
  return {
    statusCode: 200,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': POLICY,
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-cache',
    },
    body: HTML,
  };
}
