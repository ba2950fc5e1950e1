package nats

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pgcdc/pgcdc/internal/natsconn"
	"github.com/pgcdc/pgcdc/pipeline"
)

// Catalog is the slot reader's catalog as the nats sink keeps it in the
// KV bucket natsconn.CatalogBucket: the tables and column types the
// stream's events come from. It implements pipeline.Catalog,
// CatalogRefresher and CatalogWatcher, and is safe for concurrent use.
type Catalog struct {
	// bucket opens the KV bucket; kv is nil until it exists (an edge may
	// start before the writer created it).
	bucket func(context.Context) (jetstream.KeyValue, error)
	kvMu   sync.Mutex
	kv     jetstream.KeyValue

	mu       sync.RWMutex
	tables   []pipeline.TableInfo
	watchers []func(pipeline.TableInfo)
	loaded   time.Time // when the last load began

	loading sync.Mutex // one load at a time
}

var (
	_ pipeline.Catalog          = (*Catalog)(nil)
	_ pipeline.CatalogRefresher = (*Catalog)(nil)
	_ pipeline.CatalogWatcher   = (*Catalog)(nil)
)

// Tables implements pipeline.Catalog.
func (c *Catalog) Tables() []pipeline.TableInfo {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.tables
}

// Table implements pipeline.Catalog.
func (c *Catalog) Table(schema, name string) (pipeline.TableInfo, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, t := range c.tables {
		if t.Schema == schema && t.Table == name {
			return t, true
		}
	}
	return pipeline.TableInfo{}, false
}

// Watch implements pipeline.CatalogWatcher.
func (c *Catalog) Watch(fn func(pipeline.TableInfo)) {
	c.mu.Lock()
	c.watchers = append(c.watchers, fn)
	c.mu.Unlock()
}

// Refresh implements pipeline.CatalogRefresher: it reads the bucket
// again, unless a read that began after this call did (concurrent calls
// share one read). It never answers from a read older than the call.
func (c *Catalog) Refresh(ctx context.Context) error {
	called := time.Now()
	c.loading.Lock()
	defer c.loading.Unlock()
	c.mu.RLock()
	fresh := !c.loaded.Before(called)
	c.mu.RUnlock()
	if fresh {
		return nil
	}
	return c.load(ctx)
}

// load reads the catalog from the bucket and tells the watchers about
// every table that changed.
func (c *Catalog) load(ctx context.Context) error {
	began := time.Now()
	kv, err := c.open(ctx)
	if err != nil || kv == nil {
		return err
	}
	e, err := kv.Get(ctx, natsconn.CatalogKey)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		c.mu.Lock()
		c.loaded = began
		c.mu.Unlock()
		return nil
	}
	if err != nil {
		return fmt.Errorf("read the catalog: %w", err)
	}
	var tables []pipeline.TableInfo
	if err := json.Unmarshal(e.Value(), &tables); err != nil {
		return fmt.Errorf("the catalog in the KV bucket does not decode: %w", err)
	}
	c.set(tables, began)
	return nil
}

// open returns the bucket, or nil when it does not exist yet.
func (c *Catalog) open(ctx context.Context) (jetstream.KeyValue, error) {
	c.kvMu.Lock()
	defer c.kvMu.Unlock()
	if c.kv != nil || c.bucket == nil {
		return c.kv, nil
	}
	kv, err := c.bucket(ctx)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("catalog bucket: %w", err)
	}
	c.kv = kv
	return kv, nil
}

func (c *Catalog) set(tables []pipeline.TableInfo, began time.Time) {
	c.mu.Lock()
	old := c.tables
	c.tables, c.loaded = tables, began
	watchers := slices.Clone(c.watchers)
	c.mu.Unlock()
	for _, t := range tables {
		i := slices.IndexFunc(old, func(o pipeline.TableInfo) bool { return o.Schema == t.Schema && o.Table == t.Table })
		if i >= 0 && slices.Equal(old[i].Columns, t.Columns) {
			continue
		}
		for _, w := range watchers {
			w(t)
		}
	}
}

// known reports whether the catalog knows every column of e's rows.
func (c *Catalog) known(e *pipeline.Event) bool {
	t, ok := c.Table(e.Schema, e.Table)
	if !ok {
		return e.Op == pipeline.OpTruncate
	}
	for _, r := range []pipeline.Row{e.Key, e.Before, e.After} {
		for _, col := range r {
			if !slices.ContainsFunc(t.Columns, func(ci pipeline.ColumnInfo) bool { return ci.Name == col.Name }) {
				return false
			}
		}
	}
	return true
}
