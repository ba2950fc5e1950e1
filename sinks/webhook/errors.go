package webhook

import (
	"fmt"
	"time"
)

// DeliveryError is what Run returns when a request could not be delivered
// and no dead_letter file is configured: the pipeline stops rather than
// drop the events, and they are sent again after a restart.
type DeliveryError struct {
	Sink      string
	URL       string // scheme://host/path only: no query, no user info
	WebhookID string
	Events    int
	// Status is the receiver's last HTTP status; 0 when it never answered.
	Status int
	// Response is an excerpt of the last response body (at most 1 KiB).
	Response string
	Attempts int
	Elapsed  time.Duration
	// Permanent is true for a status that is never retried (3xx, 4xx other
	// than 408 and 429), false when retries ran out after retry.max_elapsed.
	Permanent bool
	// Err is the last transport error when Status is 0.
	Err error
}

// Error names the sink, what the receiver said, and the fix.
func (e *DeliveryError) Error() string {
	var what string
	if e.Status == 0 {
		what = fmt.Sprintf("no answer from %s", e.URL)
		if e.Err != nil {
			what += " (" + e.Err.Error() + ")"
		}
	} else {
		what = fmt.Sprintf("%s answered %d", e.URL, e.Status)
		if e.Response != "" {
			what += " " + fmt.Sprintf("%q", oneLine(e.Response, 200))
		}
	}
	why := "a permanent failure"
	if !e.Permanent {
		why = fmt.Sprintf("still failing after %d attempts over %s (retry.max_elapsed)", e.Attempts, e.Elapsed.Round(time.Millisecond))
	}
	// The pipeline prefixes the sink's name (sink "billing": ...).
	return fmt.Sprintf("%s for request %s carrying %d event(s), %s; "+
		"nothing was dropped and the pipeline stops here: fix the receiver or the url, "+
		"or set dead_letter on the sink to park such requests and go on", what, e.WebhookID, e.Events, why)
}

// Unwrap returns the last transport error, if any.
func (e *DeliveryError) Unwrap() error { return e.Err }
