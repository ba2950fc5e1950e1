package dashboard_test

import (
	"flag"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// axeViolation is one rule axe-core found violated.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []string `json:"target"`
	} `json:"nodes"`
}

// axe injects axe-core into the page (through the DevTools protocol,
// which the page's CSP does not govern) and returns its violations.
func (b *browser) axe() []axeViolation {
	b.t.Helper()
	src, err := os.ReadFile("testdata/axe/axe.min.js")
	if err != nil {
		b.t.Fatal(err)
	}
	b.do(20*time.Second, chromedp.Evaluate[chromedp.Void](string(src)+"\n;undefined"))
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]axeViolation](`axe.run(document, {resultTypes: ['violations']}).then(r => r.violations)`, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("axe: %v", err)
	}
	return v
}

// checkAxe fails the test on critical and serious violations and logs the
// others.
func checkAxe(t *testing.T, where string, vs []axeViolation) {
	t.Helper()
	for _, v := range vs {
		var targets []string
		for _, n := range v.Nodes {
			targets = append(targets, strings.Join(n.Target, " "))
		}
		msg := where + ": " + v.Impact + " " + v.ID + ": " + v.Help + " (" + strings.Join(targets, ", ") + ")"
		if v.Impact == "critical" || v.Impact == "serious" {
			t.Error(msg)
		} else {
			t.Log(msg)
		}
	}
}

// TestDashboardAccessibility runs axe-core on the page with changes in
// view, with the details dialog open, and on a phone-sized screen; and
// walks the rows and the dialog by keyboard alone.
func TestDashboardAccessibility(t *testing.T) {
	e := newEnv(t, "", "")
	e.exec(`INSERT INTO items (tenant_id, name) SELECT 1, 'a11y' || i FROM generate_series(1, 30) i`)
	e.exec(`UPDATE items SET status = 'paid' WHERE id <= 5`)
	b := newBrowser(t, 1280, 800)
	b.open(e.base + "/")
	b.wait("rows", `window.pgcdc.view().length >= 35 && document.querySelector('#health table')`, 10*time.Second)
	checkAxe(t, "desktop", b.axe())

	// Keyboard: Tab reaches the rows, arrows move, Enter opens the details,
	// Escape closes them and focus returns to the row.
	// (The rows are re-rendered as changes come: focus them from the page,
	// not by a DOM node id that may be gone.)
	b.do(10*time.Second, chromedp.Evaluate[chromedp.Void](`document.querySelector('#rows tr[tabindex="0"]').focus()`),
		chromedp.KeyEvent(kb.ArrowDown), chromedp.KeyEvent(kb.ArrowDown))
	b.wait("the third row focused", `document.activeElement.dataset.index === '2'`, 5*time.Second)
	b.do(10*time.Second, chromedp.KeyEvent(kb.Enter))
	b.wait("the details dialog", `document.getElementById('details').open && document.getElementById('details-json').textContent.includes('"id"')`, 5*time.Second)
	checkAxe(t, "details dialog", b.axe())
	b.do(10*time.Second, chromedp.KeyEvent(kb.Escape))
	b.wait("focus back on the row", `!document.getElementById('details').open && document.activeElement.dataset.index === '2'`, 5*time.Second)

	b.do(10*time.Second, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	b.wait("the phone layout", `document.querySelector('.side').getBoundingClientRect().top > document.querySelector('.changes').getBoundingClientRect().top`, 5*time.Second)
	if w := eval[int](b, `document.documentElement.scrollWidth`); w > 390 {
		t.Errorf("the page is %d px wide on a 390 px screen (only the table may scroll sideways)", w)
	}
	checkAxe(t, "phone", b.axe())
}

var screenshot = flag.String("screenshot", "", "TestDashboardScreenshot writes the dashboard's screenshot to this PNG file (docs/dashboard.png: go test -run TestDashboardScreenshot ./internal/dashboard -args -screenshot ../../docs/dashboard.png)")

// TestDashboardScreenshot runs `pgcdc demo`, lets its traffic fill the
// dashboard, and takes a screenshot with a real headless chromium: the
// README's picture (-screenshot), never edited by hand.
func TestDashboardScreenshot(t *testing.T) {
	addr := freeAddr(t)
	d := startDemo(t, "--listen", addr, "--rate", "40")
	b := newBrowser(t, 1400, 860)
	b.open("http://" + addr + "/")
	b.wait("a full page", `window.pgcdc.view().length >= 120 && document.querySelectorAll('#sparks canvas').length >= 3 && document.querySelector('#health table.sinks') && [...document.querySelectorAll('#rows tr[data-op=update] .c-changes')].some(td => td.textContent.includes('→')) && document.querySelectorAll('#rows .rcv.got').length > 20 && document.querySelector('#health tr[data-sink=live]')?.textContent.includes('1 client')`, 30*time.Second)
	// An update row in view is selected, so the picture shows its changed
	// columns.
	b.do(10*time.Second, chromedp.Click(chromedp.ID("pause")))
	b.wait("paused, every sink past the rows in view", `!document.getElementById('paused').hidden && document.querySelectorAll('#rows tr[data-id]:first-of-type .rcv.got, #rows tr[data-id] .rcv.got').length >= 3 * document.querySelectorAll('#rows tr[data-id]').length`, 10*time.Second)
	b.do(10*time.Second, chromedp.Evaluate[chromedp.Void](`document.querySelector('#rows tr[data-op=update]').focus()`))
	img, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(strings.NewReader(string(img))); err != nil {
		t.Fatalf("the screenshot is not a PNG: %v", err)
	}
	out := *screenshot
	if out == "" {
		out = filepath.Join(t.TempDir(), "dashboard.png")
	}
	if err := os.WriteFile(out, img, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", out, len(img))
	d.stop(t)
}
