// Package demo is the sample database of `pgcdc demo`: tables with a mix
// of column types, their publication, and live traffic into them.
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

// schema is the sample database: users, and orders with an enum, jsonb,
// an array and REPLICA IDENTITY FULL.
const schema = `
CREATE TABLE public.users (
  id bigserial PRIMARY KEY,
  email text NOT NULL UNIQUE,
  name text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TYPE public.order_status AS ENUM ('new', 'paid', 'shipped', 'cancelled');
CREATE TABLE public.orders (
  id bigserial PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES public.users(id),
  status public.order_status NOT NULL DEFAULT 'new',
  total numeric(12,2) NOT NULL,
  items jsonb NOT NULL DEFAULT '[]',
  tags text[] NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE public.orders REPLICA IDENTITY FULL;
`

// The range of --rate: one transaction per 1,000 s up to what one
// connection committing one at a time may reach.
const (
	MinRate = 0.001
	MaxRate = 10_000
)

// CheckRate checks --rate: transactions per second from MinRate to
// MaxRate (NaN and infinities are not).
func CheckRate(rate float64) error {
	if math.IsNaN(rate) || rate < MinRate || rate > MaxRate {
		return fmt.Errorf("--rate is %v, want transactions per second from %v to %v", rate, MinRate, MaxRate)
	}
	return nil
}

// Setup creates the sample tables in cluster and the publication named
// publication over tables. The publication must exist before the slot: a
// change committed between the slot's creation and the publication's is
// decoded against a history without the publication, and fails.
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

// Traffic writes sample changes until ctx ends: new users and orders,
// status updates, and the occasional cancellation (delete), rate
// transactions a second (CheckRate). A failed statement is logged and
// the traffic goes on.
func Traffic(ctx context.Context, dsn string, rate float64, log *slog.Logger) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("traffic: %w", err)
	}
	defer conn.Close(context.Background())
	t := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer t.Stop()
	statuses := []string{"paid", "shipped"}
	for n := 1; ; n++ {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		var err error
		switch {
		case n%10 == 1:
			_, err = conn.Exec(ctx, `INSERT INTO users (email, name) VALUES ($1, $2)`,
				fmt.Sprintf("user%d@example.com", n), fmt.Sprintf("User %d", n))
		case n%7 == 0:
			_, err = conn.Exec(ctx, `DELETE FROM orders WHERE id = (SELECT min(id) FROM orders WHERE status = 'new')`)
		case n%3 == 0:
			_, err = conn.Exec(ctx, `UPDATE orders SET status = $1 WHERE id = (SELECT max(id) FROM orders WHERE status < $1::order_status)`,
				statuses[rand.IntN(len(statuses))])
		default:
			_, err = conn.Exec(ctx, `INSERT INTO orders (user_id, total, items, tags)
SELECT max(id), $1, jsonb_build_array(jsonb_build_object('sku', $2::text, 'qty', $3::int)), ARRAY['demo', $2::text] FROM users`,
				fmt.Sprintf("%d.%02d", 5+rand.IntN(200), rand.IntN(100)), fmt.Sprintf("SKU-%03d", rand.IntN(1000)), 1+rand.IntN(5))
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			log.Warn("demo traffic", "err", err)
		}
	}
}
