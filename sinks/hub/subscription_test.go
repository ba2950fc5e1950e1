package hub

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/pgcdc/pgcdc/config"
	"github.com/pgcdc/pgcdc/pipeline"
	"github.com/pgcdc/pgcdc/pipeline/transform"
	"github.com/pgcdc/pgcdc/sinks/hub/hubtest"
)

// refreshingCatalog is a catalog whose Refresh swaps in the next tables,
// like the source's catalog after ALTER PUBLICATION or ALTER TABLE.
type refreshingCatalog struct {
	mu        sync.Mutex
	tables    pipeline.StaticCatalog
	next      pipeline.StaticCatalog
	refreshes int
	err       error
}

func (c *refreshingCatalog) Tables() []pipeline.TableInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tables
}

func (c *refreshingCatalog) Table(schema, name string) (pipeline.TableInfo, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tables.Table(schema, name)
}

func (c *refreshingCatalog) Refresh(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refreshes++
	if c.err != nil {
		return c.err
	}
	c.tables = c.next
	return nil
}

func TestCompileRefreshesTheCatalog(t *testing.T) {
	orders := hubtest.Catalog()[:1]
	withNewt := append(hubtest.Catalog()[:1:1], pipeline.TableInfo{Schema: "public", Table: "newt",
		Columns: []pipeline.ColumnInfo{{Name: "id", Kind: pipeline.KindNumber, Key: true}}})
	withColumn := pipeline.StaticCatalog{orders[0]}
	withColumn[0].Columns = append(append([]pipeline.ColumnInfo(nil), orders[0].Columns...), pipeline.ColumnInfo{Name: "region", Kind: pipeline.KindString})

	tests := []struct {
		name      string
		now, next pipeline.StaticCatalog
		spec      transform.SubscriptionSpec
		refreshes int
		wantErr   error // nil: compiles
	}{
		{"known table: no refresh", orders, withNewt, transform.SubscriptionSpec{Table: []string{"public.orders"}}, 0, nil},
		{"table added to the publication", orders, withNewt, transform.SubscriptionSpec{Table: []string{"newt"}}, 1, nil},
		{"column added", orders, withColumn, transform.SubscriptionSpec{Table: []string{"orders"}, Filter: []string{"region=eq.eu"}}, 1, nil},
		{"column selected", orders, withColumn, transform.SubscriptionSpec{Select: []string{"region"}}, 1, nil},
		{"still unknown after the refresh", orders, orders, transform.SubscriptionSpec{Table: []string{"newt"}}, 1, transform.ErrNotPublished},
		{"dropped from the publication", orders, pipeline.StaticCatalog{}, transform.SubscriptionSpec{Table: []string{"nosuch"}}, 1, transform.ErrNotPublished},
		{"type mismatch: no refresh", orders, withNewt, transform.SubscriptionSpec{Filter: []string{"total=gt.abc"}}, 0, transform.ErrTypeMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cat := &refreshingCatalog{tables: tt.now, next: tt.next}
			h, err := New(t.Name(), testConfig(config.Broadcast{}), cat, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = h.Compile(t.Context(), tt.spec)
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("Compile = %v, want %v", err, tt.wantErr)
			}
			if cat.refreshes != tt.refreshes {
				t.Fatalf("%d refreshes, want %d", cat.refreshes, tt.refreshes)
			}
		})
	}

	t.Run("a failed refresh keeps the first answer", func(t *testing.T) {
		cat := &refreshingCatalog{tables: orders, next: withNewt, err: errors.New("connection refused")}
		h, _ := New(t.Name(), testConfig(config.Broadcast{}), cat, nil)
		_, err := h.Compile(t.Context(), transform.SubscriptionSpec{Table: []string{"newt"}})
		if !errors.Is(err, transform.ErrNotPublished) || !strings.Contains(err.Error(), "public.orders") {
			t.Fatalf("Compile = %v, want not published with the known tables", err)
		}
	})
}
