// Package demo is the sample database of `pgcdc demo`: a small shop
// (customers, products, orders) with a mix of column types, its
// publication, live traffic into it, and a webhook receiver that fails
// now and then (so that the dashboard's health panel has retries to
// show).
package demo

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgcdc/pgcdc/internal/pgcluster"
	"github.com/pgcdc/pgcdc/source"
)

// schema is the sample database. orders and products have REPLICA
// IDENTITY FULL (their updates carry the old row: the dashboard shows
// before -> after); customers keep the default (updates carry no old
// row).
const schema = `
CREATE TABLE public.customers (
  id bigserial PRIMARY KEY,
  email text NOT NULL UNIQUE,
  name text NOT NULL,
  country text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE public.products (
  id serial PRIMARY KEY,
  sku text NOT NULL UNIQUE,
  name text NOT NULL,
  price numeric(10,2) NOT NULL,
  stock integer NOT NULL,
  tags text[] NOT NULL DEFAULT '{}'
);
ALTER TABLE public.products REPLICA IDENTITY FULL;
CREATE TYPE public.order_status AS ENUM ('new', 'paid', 'shipped', 'cancelled');
CREATE TABLE public.orders (
  id bigserial PRIMARY KEY,
  customer_id bigint NOT NULL REFERENCES public.customers(id),
  status public.order_status NOT NULL DEFAULT 'new',
  total numeric(12,2) NOT NULL,
  items jsonb NOT NULL DEFAULT '[]',
  created_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE public.orders REPLICA IDENTITY FULL;
INSERT INTO public.products (sku, name, price, stock, tags)
SELECT 'SKU-' || lpad(i::text, 3, '0'),
       (ARRAY['Kettle','Lamp','Mug','Backpack','Notebook','Headphones','Chair','Teapot'])[1 + i % 8] || ' ' || i,
       (5 + (i * 37) % 200)::numeric + 0.99, 50 + (i * 13) % 100,
       ARRAY[(ARRAY['home','office','travel','kitchen'])[1 + i % 4]]
FROM generate_series(1, 24) AS i;
INSERT INTO public.customers (email, name, country)
SELECT 'customer' || i || '@example.com', 'Customer ' || i, (ARRAY['DE','FR','US','JP','BR'])[1 + i % 5]
FROM generate_series(1, 5) AS i;
`

// The range of --rate: one transaction per 1,000 s up to what one
// connection committing one at a time may reach.
const (
	MinRate = 0.001
	MaxRate = 10_000
)

// BigEvery is how often (in transactions) the traffic commits a big one:
// BigRows orders in one transaction.
const (
	BigEvery = 250
	BigRows  = 200
)

// CheckRate checks --rate: transactions per second from MinRate to
// MaxRate (NaN and infinities are not).
func CheckRate(rate float64) error {
	if math.IsNaN(rate) || rate < MinRate || rate > MaxRate {
		return fmt.Errorf("--rate is %v, want transactions per second from %v to %v", rate, MinRate, MaxRate)
	}
	return nil
}

// Setup creates the sample tables (with a few products and customers) in
// cluster and the publication named publication over tables. The
// publication must exist before the slot: a change committed between the
// slot's creation and the publication's is decoded against a history
// without the publication, and fails.
func Setup(ctx context.Context, cluster *pgcluster.Cluster, publication string, tables []string) error {
	if _, err := cluster.Psql(ctx, "", schema); err != nil {
		return fmt.Errorf("create sample tables: %w", err)
	}
	conn, err := pgx.Connect(ctx, cluster.DSN(""))
	if err != nil {
		return fmt.Errorf("create publication: %w", err)
	}
	defer conn.Close(context.Background())
	_, err = source.CreatePublication(ctx, conn, publication, tables)
	return err
}

// step is one kind of transaction of the traffic.
type step struct {
	sql  string
	args func(n int) []any
}

var (
	countries = []string{"DE", "FR", "US", "JP", "BR", "IN", "NG"}
	newOrder  = step{`WITH p AS (UPDATE products SET stock = stock - $2 WHERE id = $1 AND stock >= $2 RETURNING id, sku, price)
INSERT INTO orders (customer_id, total, items)
SELECT (SELECT id FROM customers ORDER BY random() LIMIT 1), p.price * $2,
       jsonb_build_array(jsonb_build_object('sku', p.sku, 'qty', $2::int)) FROM p`,
		func(int) []any { return []any{1 + rand.IntN(24), 1 + rand.IntN(3)} }}
	steps = []step{
		{`INSERT INTO customers (email, name, country) VALUES ($1, $2, $3)`,
			func(n int) []any {
				return []any{fmt.Sprintf("shopper%d.%d@example.com", n, rand.IntN(1e6)), fmt.Sprintf("Shopper %d", n), countries[rand.IntN(len(countries))]}
			}},
		{`UPDATE orders SET status = CASE status WHEN 'new' THEN 'paid'::order_status ELSE 'shipped' END
WHERE id = (SELECT id FROM orders WHERE status IN ('new', 'paid') ORDER BY id LIMIT 1)`, nil},
		{`UPDATE products SET price = round(price * $1, 2) WHERE id = $2`,
			func(int) []any { return []any{0.95 + rand.Float64()/10, 1 + rand.IntN(24)} }},
		{`UPDATE products SET stock = stock + 20 WHERE stock < 20`, nil},
		{`UPDATE customers SET country = $1 WHERE id = (SELECT id FROM customers ORDER BY random() LIMIT 1)`,
			func(int) []any { return []any{countries[rand.IntN(len(countries))]} }},
		{`UPDATE orders SET status = 'cancelled' WHERE id = (SELECT max(id) FROM orders WHERE status = 'new')`, nil},
		{`DELETE FROM orders WHERE id = (SELECT min(id) FROM orders WHERE status IN ('cancelled', 'shipped'))`, nil},
	}
	big = step{`INSERT INTO orders (customer_id, total, items)
SELECT c.id, 10 + (i % 90), jsonb_build_array(jsonb_build_object('sku', 'SKU-' || lpad((1 + i % 24)::text, 3, '0'), 'qty', 1))
FROM generate_series(1, $1) AS i, LATERAL (SELECT id FROM customers ORDER BY random() LIMIT 1) AS c`,
		func(int) []any { return []any{BigRows} }}
)

// pick returns transaction n's step: mostly new orders, every kind of
// update and a delete now and then, and every BigEvery a big transaction.
func pick(n int) step {
	switch {
	case n%BigEvery == 0:
		return big
	case n%2 == 1:
		return newOrder
	case n%12 == 0:
		return steps[0] // a new customer
	}
	return steps[(n/2)%len(steps)]
}

// Traffic writes sample changes until ctx ends, rate transactions a
// second (CheckRate): new orders (an insert and a stock update in one
// transaction), status changes, price and stock updates, new customers,
// cancellations and deletes, and every BigEvery transactions one of
// BigRows orders. A failed statement is logged and the traffic goes on.
func Traffic(ctx context.Context, dsn string, rate float64, log *slog.Logger) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("traffic: %w", err)
	}
	defer conn.Close(context.Background())
	t := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer t.Stop()
	for n := 1; ; n++ {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		s := pick(n)
		var args []any
		if s.args != nil {
			args = s.args(n)
		}
		if _, err := conn.Exec(ctx, s.sql, args...); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			log.Warn("demo traffic", "err", err)
		}
	}
}
