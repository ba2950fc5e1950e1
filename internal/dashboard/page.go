package dashboard

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed assets
var assets embed.FS

// CSP is the page's Content-Security-Policy: scripts, styles and every
// request from the server's own origin only, no inline script or style
// element, no framing. Everything the page needs is embedded in the
// binary, so nothing else is needed.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// PageConfig is what the page needs to know of the server, rendered into
// it at startup: where its data paths are mounted.
type PageConfig struct {
	// Path is where the page is served; it ends in "/".
	Path string `json:"-"`
	// Sink is the name of the sse sink the page streams from, Events its
	// path.
	Sink   string `json:"sink"`
	Events string `json:"events"`
	// Changes, Status, Ticket and Whoami are the paths of /api/changes,
	// /api/status, /api/ticket and /api/whoami.
	Changes string `json:"changes"`
	Status  string `json:"status"`
	Ticket  string `json:"ticket"`
	Whoami  string `json:"whoami"`
	// Auth says the data paths need a credential (server.auth is token
	// or jwt): the page asks for a token.
	Auth bool `json:"auth"`
	// Sinks are every configured sink's name, for the who-received
	// badges.
	Sinks   []string `json:"sinks"`
	Version string   `json:"version"`
}

// file is one embedded asset, ready to serve.
type file struct {
	body  []byte
	ctype string
	etag  string
}

// Page serves the dashboard: the page at its path and its scripts and
// styles beneath it, from the binary. It is static and reads no data
// itself, so it needs no credential; every request it makes for data
// passes the live gate like any other client's. Use Handler to mount it.
type Page struct {
	path  string
	files map[string]file // by path below the page's, "" for the page itself
	start time.Time
}

// NewPage renders the page for c.
func NewPage(c PageConfig) (*Page, error) {
	if !strings.HasPrefix(c.Path, "/") || !strings.HasSuffix(c.Path, "/") {
		return nil, fmt.Errorf("dashboard path %q: want a path that starts and ends with /", c.Path)
	}
	p := &Page{path: c.Path, files: map[string]file{}, start: time.Now()}
	err := fs.WalkDir(assets, "assets", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := assets.ReadFile(name)
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(name, "assets/")
		if rel == "index.html" {
			return nil
		}
		p.files[rel] = newFile(b, contentType(rel))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("dashboard assets: %w", err)
	}
	index, err := renderIndex(c)
	if err != nil {
		return nil, err
	}
	p.files[""] = newFile(index, "text/html; charset=utf-8")
	return p, nil
}

func newFile(b []byte, ctype string) file {
	sum := sha256.Sum256(b)
	return file{body: b, ctype: ctype, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
}

func contentType(name string) string {
	switch path.Ext(name) {
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".txt":
		return "text/plain; charset=utf-8"
	}
	return "application/octet-stream"
}

var indexTemplate = template.Must(template.ParseFS(assets, "assets/index.html"))

// renderIndex puts c into the page as the content of a meta element (no
// inline script: the CSP forbids it).
func renderIndex(c PageConfig) ([]byte, error) {
	cfg, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := indexTemplate.Execute(&b, map[string]string{"Config": string(cfg), "Version": c.Version}); err != nil {
		return nil, fmt.Errorf("dashboard page: %w", err)
	}
	return b.Bytes(), nil
}

// Path returns where the page is served.
func (p *Page) Path() string { return p.path }

// ServeHTTP serves the page and its assets, GET and HEAD only; any other
// path beneath the page's is a 404.
func (p *Page) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rel, ok := strings.CutPrefix(r.URL.Path, p.path)
	f, found := p.files[rel]
	if !ok || !found {
		hint := ""
		if p.path == "/" {
			hint = " (pgcdc serves the dashboard at /, its sinks at their configured paths, and /healthz, /readyz, /metrics, /api/changes, /api/status)"
		}
		http.Error(w, "404 page not found: "+r.URL.Path+hint, http.StatusNotFound)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method "+r.Method+" not allowed: use GET", http.StatusMethodNotAllowed)
		return
	}
	h := w.Header()
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cache-Control", "no-cache")
	h.Set("Content-Type", f.ctype)
	h.Set("ETag", f.etag)
	http.ServeContent(w, r, "", p.start, bytes.NewReader(f.body))
}
