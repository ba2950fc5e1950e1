package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	retry "github.com/pgcdc/pgcdc/internal/backoff"
)

// deliver sends req until the receiver answers 2xx, retrying transient
// failures on the backoff schedule. A request that fails for good (a
// permanent status, or retries past retry.max_elapsed) goes to the
// dead-letter file and counts as delivered; without one, deliver returns
// a *DeliveryError. It returns ctx.Err() when ctx ends first.
func (s *Sink) deliver(ctx context.Context, req *request) error {
	s.metrics.inflight.Set(float64(len(req.events)))
	defer s.metrics.inflight.Set(0)
	begin := time.Now()
	sched := s.cfg.Retry.schedule(s.opts.jitter)
	for attempt := 1; ; attempt++ {
		res := s.attempt(ctx, req)
		if err := ctx.Err(); err != nil {
			return err
		}
		s.metrics.request(res.status)
		if res.ok() {
			s.metrics.delivered.Add(float64(len(req.events)))
			s.metrics.latency.Observe(time.Since(begin).Seconds())
			if attempt > 1 {
				s.log.Info("webhook request delivered after retries", "webhook_id", req.id,
					"lsn", req.lsn, "events", len(req.events), "attempts", attempt)
			} else if s.log.Enabled(ctx, slog.LevelDebug) {
				s.log.Debug("webhook request delivered", "webhook_id", req.id,
					"lsn", req.lsn, "events", len(req.events), "status", res.status)
			}
			return nil
		}
		if res.retryable() {
			d := honourRetryAfter(sched.Delay(attempt), res.retryAfter, sched.Max)
			if sched.Allows(time.Since(begin) + d) {
				s.metrics.retries.Inc()
				s.log.Warn("webhook request failed, retrying", "webhook_id", req.id, "lsn", req.lsn,
					"events", len(req.events), "attempt", attempt, "reason", res.describe(), "retry_in", d)
				if err := retry.Sleep(ctx, d); err != nil {
					return err
				}
				continue
			}
		}
		return s.giveUp(ctx, req, res, attempt, time.Since(begin))
	}
}

// giveUp writes a request that failed for good to the dead-letter file,
// or returns the *DeliveryError that stops the pipeline when there is none.
func (s *Sink) giveUp(ctx context.Context, req *request, res result, attempts int, elapsed time.Duration) error {
	permanent := !res.retryable()
	if s.cfg.DeadLetter == "" {
		return &DeliveryError{
			Sink: s.cfg.Name, URL: s.safeURL, WebhookID: req.id, Events: len(req.events),
			Status: res.status, Response: res.response, Attempts: attempts, Elapsed: elapsed,
			Permanent: permanent, Err: res.err,
		}
	}
	reason := statusText(res)
	if permanent {
		reason = "permanent failure: " + reason
	} else {
		reason = fmt.Sprintf("gave up after %d attempts over %s: %s", attempts, elapsed.Round(time.Millisecond), reason)
	}
	dl := DeadLetter{
		Time:      s.opts.now().UTC(),
		Sink:      s.cfg.Name,
		WebhookID: req.id,
		Format:    s.cfg.format(),
		Batch:     s.enc.array,
		Status:    res.status,
		Error:     reason,
		Response:  res.response,
		Attempts:  attempts,
		Events:    make([]json.RawMessage, len(req.events)),
	}
	if s.enc.cloudEvents {
		dl.Database = s.enc.database
	}
	for i, e := range req.events {
		dl.Events[i] = e
	}
	line, err := dl.encodeLine()
	if err == nil {
		err = appendDeadLetter(ctx, s.cfg.DeadLetter, line)
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("webhook sink %q: request %s (%d events) failed (%s) and could not be written to the dead-letter file, so the pipeline stops: %w",
			s.cfg.Name, req.id, len(req.events), reason, err)
	}
	s.metrics.deadLetters.Inc()
	s.metrics.deadLetterEvents.Add(float64(len(req.events)))
	s.log.Warn("webhook request written to the dead-letter file", "webhook_id", req.id, "lsn", req.lsn,
		"events", len(req.events), "reason", reason, "dead_letter", s.cfg.DeadLetter)
	return nil
}

// statusText is a short account of a failed attempt: the status, or the
// transport error when there was no answer.
func statusText(res result) string {
	if res.status == 0 {
		return res.err.Error()
	}
	return fmt.Sprintf("%d %s", res.status, http.StatusText(res.status))
}
