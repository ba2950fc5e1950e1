package hub

import (
	"context"
	"errors"
	"time"

	"github.com/pgcdc/pgcdc/pipeline"
	"github.com/pgcdc/pgcdc/pipeline/transform"
)

// refreshTimeout bounds the catalog refresh of one subscription, whatever
// the request's own deadline (an SSE request has none).
const refreshTimeout = 5 * time.Second

// Compile parses a client's subscription (SSE query parameters or a
// WebSocket subscribe message) and checks it against the hub's catalog: an
// unknown table, a column no subscribed table has, a value of the wrong
// type are errors, never a silent match-nothing. The error is a
// transform.Errors whose fields are the parameter names (table, op,
// filter, select).
//
// When the check finds a table or a column the catalog does not know and
// the catalog implements pipeline.CatalogRefresher, Compile refreshes it
// once (bounded by ctx) and checks again: a table added to the publication
// since the catalog was filled, or a column added since, is then found,
// and a table no longer published is reported with the catalog as it is
// now. A failed refresh leaves the first answer.
func (h *Hub) Compile(ctx context.Context, spec transform.SubscriptionSpec) (*transform.Subscription, error) {
	sub, err := transform.NewSubscription(spec)
	if err != nil {
		return nil, err
	}
	if h.cat == nil {
		return sub, nil
	}
	err = sub.Check(h.cat)
	if r, ok := h.cat.(pipeline.CatalogRefresher); ok && unknownName(err) {
		rctx, cancel := context.WithTimeout(ctx, refreshTimeout)
		rerr := r.Refresh(rctx)
		cancel()
		if rerr != nil {
			h.log.Warn("refresh the catalog for a subscription", "err", rerr)
		} else {
			err = sub.Check(h.cat)
		}
	}
	if err != nil {
		return nil, err
	}
	return sub, nil
}

// unknownName reports whether err names a table or a column the catalog
// does not know (rather than a value of the wrong type).
func unknownName(err error) bool {
	return errors.Is(err, transform.ErrNotPublished) || errors.Is(err, transform.ErrUnknownColumn)
}
