// Package dashboard is pgcdc's browser page of live changes: a static
// page embedded in the binary (plain JavaScript modules and a stylesheet
// under assets/, no build step, no third-party code) and the small JSON
// status endpoint it reads its health panel from.
//
// The page is served without a credential: it holds no data. Everything
// it shows comes through the server's ordinary data paths, which pass
// the same live.Gate (Host, Origin, server.auth) as any other client:
//
//   - /api/changes for the recent history, then the sse sink's stream
//     after the history's last id (EventSource, with lastEventId on every
//     reconnect);
//   - /api/status (NewStatus) for the health of the source and of every
//     sink, read from the Prometheus registry and pipeline.Status, never
//     computed a second time;
//   - with server.auth on, /api/whoami for the scope and /api/ticket for
//     a single-use ticket per EventSource URL: the token stays in the
//     tab's sessionStorage and in Authorization headers, never in a URL.
//
// The page's Content-Security-Policy allows scripts, styles and requests
// from the server's own origin only, without inline script.
package dashboard
