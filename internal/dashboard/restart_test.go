package dashboard_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestDashboardRestart: pgcdc is restarted while changes go on; the page
// reconnects by itself and shows every change committed meanwhile
// (compared with the table). Then, with a replay buffer too small for
// what the page missed, it shows the reset notice.
func TestDashboardRestart(t *testing.T) {
	e := newEnv(t, "", "  - {name: live, type: sse, client_retry: 200ms}\n")
	b := newBrowser(t, 1280, 800)
	b.open(e.base + "/")

	t.Run("resume", func(t *testing.T) {
		b := b.on(t)
		stop := e.traffic(t, 10*time.Millisecond, `INSERT INTO items (tenant_id, name) VALUES (1, 'restart')`)
		defer stop()
		b.wait("rows before the restart", `window.pgcdc.view().length >= 20`, 5*time.Second)
		e.stop()
		b.wait("reconnecting", `document.getElementById('conn').dataset.state === 'reconnecting'`, 10*time.Second)
		e.start()
		b.wait("connected again", `['connected', 'reset'].includes(document.getElementById('conn').dataset.state)`, 20*time.Second)
		time.Sleep(300 * time.Millisecond) // traffic after the reconnect too
		stop()
		want := e.ints(`SELECT id FROM items ORDER BY id`)
		b.wait("every row", fmt.Sprintf(`window.pgcdc.view().filter(r => r.table === 'public.items' && r.op === 'insert').length >= %d`, len(want)), 10*time.Second)
		got := b.keys("public.items", "insert")
		for _, id := range want {
			if !got[id] {
				t.Errorf("item %d is not shown after the restart", id)
			}
		}
		if len(got) != len(want) {
			t.Errorf("%d items shown, the table has %d", len(got), len(want))
		}
		reset := eval[bool](b, `!document.getElementById('notice').hidden`)
		t.Logf("%d rows, all shown after the restart; the server answered the resume with a reset: %v", len(want), reset)
		if reset {
			b.do(5*time.Second, chromedp.Click(chromedp.ID("notice-close")))
		}
	})

	t.Run("reset", func(t *testing.T) {
		b := b.on(t)
		e.stop()
		b.wait("reconnecting", `document.getElementById('conn').dataset.state === 'reconnecting'`, 10*time.Second)
		cfg, err := os.ReadFile(e.config)
		if err != nil {
			t.Fatal(err)
		}
		small := strings.Replace(string(cfg), "client_retry: 200ms}", "client_retry: 200ms, replay: {max_events: 10}}", 1)
		if err := os.WriteFile(e.config, []byte(small), 0o600); err != nil {
			t.Fatal(err)
		}
		e.exec(`INSERT INTO items (tenant_id, name) SELECT 1, 'missed' || i FROM generate_series(1, 100) i`)
		e.start()
		b.wait("the reset notice", `!document.getElementById('notice').hidden && document.getElementById('conn').dataset.state === 'reset'`, 20*time.Second)
		if n := eval[string](b, `document.getElementById('notice-text').textContent`); !strings.Contains(n, "reset") || !strings.Contains(n, "missing") {
			t.Errorf("notice: %q", n)
		}
		// The stream goes on after the reset.
		var id int
		if err := e.db.QueryRow(t.Context(), `INSERT INTO items (tenant_id, name) VALUES (1, 'after') RETURNING id`).Scan(&id); err != nil {
			t.Fatal(err)
		}
		b.wait("a row after the reset", fmt.Sprintf(`window.pgcdc.view().some(r => r.key && r.key.id === %d)`, id), 5*time.Second)
		b.do(5*time.Second, chromedp.Click(chromedp.ID("notice-close")))
		b.wait("connected", `document.getElementById('conn').dataset.state === 'connected'`, 5*time.Second)
	})
}
