package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// maxExcerpt bounds the response body kept for logs, errors and dead
// letters; maxDrain bounds what is read to keep the connection reusable.
const (
	maxExcerpt = 1024
	maxDrain   = 64 << 10
)

// request is one webhook request: a body and the events it carries.
type request struct {
	id          string // webhook-id, stable across retries and replays
	body        []byte // owned by the request
	contentType string
	events      [][]byte // each event's JSON, for the dead-letter file
	lsn         string   // commit LSN of the first event, for logs
}

// result is the outcome of one attempt.
type result struct {
	status     int    // HTTP status; 0 when there was no response
	response   string // excerpt of the response body (non-2xx only)
	retryAfter time.Duration
	err        error // why there was no response; never holds the URL
}

func (r result) ok() bool { return r.status >= 200 && r.status < 300 }

// retryable reports whether the failure is transient: no response (network
// error, timeout), 408, 429 or 5xx. Every other status, 3xx included
// (redirects are not followed: fix the URL), is permanent.
func (r result) retryable() bool {
	return r.status == 0 || r.status == http.StatusRequestTimeout ||
		r.status == http.StatusTooManyRequests || (r.status >= 500 && r.status < 600)
}

// describe says what went wrong, for logs, errors and dead letters.
func (r result) describe() string {
	if r.status == 0 {
		return r.err.Error()
	}
	s := fmt.Sprintf("answered %d %s", r.status, http.StatusText(r.status))
	if r.response != "" {
		s += ": " + oneLine(r.response, 200)
	}
	return s
}

// newClient returns the HTTP client of a sink: a tuned keep-alive
// transport unless the options supply one, and no redirects.
func newClient(tc *tls.Config, o options) *http.Client {
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if o.client != nil {
		c := *o.client
		c.CheckRedirect = noRedirect
		return &c
	}
	rt := o.transport
	if rt == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		// One request is in flight per sink; a few idle connections cover
		// a retry racing the close of a broken one.
		t.MaxIdleConns = 8
		t.MaxIdleConnsPerHost = 4
		t.IdleConnTimeout = 90 * time.Second
		if tc != nil {
			t.TLSClientConfig = tc
		}
		rt = t
	}
	return &http.Client{Transport: rt, CheckRedirect: noRedirect}
}

// attempt sends req once, signed with a fresh timestamp, and reads the
// answer. The response body is drained (up to maxDrain) and closed so the
// connection is reused.
func (s *Sink) attempt(ctx context.Context, req *request) result {
	actx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	hr, err := http.NewRequestWithContext(actx, http.MethodPost, s.cfg.URL, bytes.NewReader(req.body))
	if err != nil {
		return result{err: fmt.Errorf("build request: %w", stripURL(err))}
	}
	h := hr.Header
	for k, v := range s.cfg.Headers {
		h[k] = v
	}
	h.Set("Content-Type", req.contentType)
	if _, ok := h["User-Agent"]; !ok {
		h.Set("User-Agent", s.userAgent)
	}
	ts := s.opts.now().Unix()
	h.Set(HeaderID, req.id)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	if !s.cfg.Key.IsZero() {
		h.Set(HeaderSignature, s.cfg.Key.Sign(req.id, ts, req.body))
	}

	resp, err := s.client.Do(hr)
	if err != nil {
		switch {
		case ctx.Err() != nil:
			return result{err: ctx.Err()}
		case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
			return result{err: fmt.Errorf("POST %s: no answer within %s", s.safeURL, s.cfg.Timeout)}
		default:
			return result{err: fmt.Errorf("POST %s: %w", s.safeURL, stripURL(err))}
		}
	}
	defer resp.Body.Close()
	r := result{status: resp.StatusCode}
	if !r.ok() {
		buf := make([]byte, maxExcerpt)
		n, _ := io.ReadFull(resp.Body, buf)
		r.response = excerpt(buf[:n])
		if r.retryable() {
			r.retryAfter = parseRetryAfter(resp.Header, s.opts.now())
		}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
	return r
}

// stripURL removes the *url.Error wrapper, whose message quotes the whole
// URL (query tokens and user info included).
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// excerpt returns b as valid UTF-8 of at most maxExcerpt bytes.
func excerpt(b []byte) string {
	// Drop a last rune that the read limit cut in two.
	for i := 1; i <= utf8.UTFMax && i <= len(b); i++ {
		if utf8.RuneStart(b[len(b)-i]) {
			if !utf8.FullRune(b[len(b)-i:]) {
				b = b[:len(b)-i]
			}
			break
		}
	}
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	if len(s) > maxExcerpt {
		i := maxExcerpt
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		s = s[:i]
	}
	return s
}

// oneLine shortens s to at most n bytes on one line, for messages.
func oneLine(s string, n int) string {
	s = strings.TrimSpace(s)
	b := make([]byte, 0, min(len(s), n))
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			r = ' '
		}
		if len(b)+utf8.RuneLen(r) > n {
			return string(b) + "…"
		}
		b = utf8.AppendRune(b, r)
	}
	return string(b)
}
