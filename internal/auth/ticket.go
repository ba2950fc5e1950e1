package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"strings"
	"sync"
	"time"
)

// Ticket defaults.
const (
	DefaultTicketTTL = 30 * time.Second
	DefaultTickets   = 10000 // outstanding tickets at most
)

// ticketPrefix starts every ticket, so that a verifier can tell a ticket
// from a JWT or a static token without a lookup. Static tokens may not
// start with it.
const ticketPrefix = "pgt_"

const (
	ticketIDBytes     = 16
	ticketSecretBytes = 32
	ticketLen         = len(ticketPrefix) + (ticketIDBytes+ticketSecretBytes+2)/3*4 // 64 base64url characters
)

// IsTicket reports whether tok has the form of a ticket.
func IsTicket(tok string) bool { return strings.HasPrefix(tok, ticketPrefix) }

// Ticket is a single-use credential minted for an authenticated identity
// (POST /api/ticket), to put in an EventSource URL instead of the token.
type Ticket struct {
	Value   string    `json:"ticket"`
	Expires time.Time `json:"expires"`
}

// Tickets stores outstanding tickets. A ticket is an identifier and a
// secret: the identifier finds the entry (a map lookup whose timing
// depends only on 128 random bits the client was given), and the secret is
// compared with the stored SHA-256 of it in constant time, so neither
// timing nor a memory dump of the store gives a usable ticket away. A
// ticket can be redeemed once; it expires after the TTL, and never later
// than the identity that minted it. The store holds at most max tickets:
// when it is full, expired ones are swept, and if none has expired Mint
// refuses (ReasonBusy). Tickets is safe for concurrent use.
type Tickets struct {
	ttl time.Duration
	max int

	mu      sync.Mutex
	entries map[[ticketIDBytes]byte]ticketEntry
}

type ticketEntry struct {
	verifier [sha256.Size]byte
	identity *Identity
	expires  time.Time
}

// NewTickets returns a store of tickets valid for ttl (0: DefaultTicketTTL),
// holding at most max (0: DefaultTickets).
func NewTickets(ttl time.Duration, max int) *Tickets {
	if ttl <= 0 {
		ttl = DefaultTicketTTL
	}
	if max <= 0 {
		max = DefaultTickets
	}
	return &Tickets{ttl: ttl, max: max, entries: map[[ticketIDBytes]byte]ticketEntry{}}
}

// Mint returns a new ticket for id, bound to its identity and scope. It
// refuses an identity that was itself authenticated by a ticket (a ticket
// does not beget tickets) and one that has expired.
func (t *Tickets) Mint(id *Identity) (Ticket, error) {
	if id.Ticket {
		return Ticket{}, newError(ReasonTicket, "a ticket cannot be exchanged for another ticket: send the token itself")
	}
	now := time.Now()
	expires := now.Add(t.ttl)
	if !id.Expires.IsZero() {
		if !id.Expires.After(now) {
			return Ticket{}, newError(ReasonExpired, "the token has expired: get a new one")
		}
		if id.Expires.Before(expires) {
			expires = id.Expires
		}
	}
	var raw [ticketIDBytes + ticketSecretBytes]byte
	rand.Read(raw[:]) // never returns an error (crypto/rand, Go 1.24+)
	var key [ticketIDBytes]byte
	copy(key[:], raw[:ticketIDBytes])
	e := ticketEntry{verifier: sha256.Sum256(raw[ticketIDBytes:]), identity: id, expires: expires}

	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.entries) >= t.max {
		t.sweepLocked(now)
		if len(t.entries) >= t.max {
			return Ticket{}, newError(ReasonBusy, "too many outstanding tickets: retry in a few seconds")
		}
	}
	t.entries[key] = e
	return Ticket{Value: ticketPrefix + base64.RawURLEncoding.EncodeToString(raw[:]), Expires: expires}, nil
}

// Redeem returns the identity a ticket was minted for and forgets the
// ticket. An unknown, already redeemed, expired or forged ticket is one
// and the same error (ReasonTicket); a ticket whose identifier is right but
// whose secret is not is burnt too. The returned Identity is a copy marked
// Ticket, with the expiry of the identity that minted the ticket (the
// stream it opens lives as long as the token, not the ticket).
func (t *Tickets) Redeem(value string) (*Identity, error) {
	invalid := newError(ReasonTicket, "invalid ticket: tickets are single-use and expire after a few seconds; get a new one from POST /api/ticket")
	if len(value) != ticketLen || !IsTicket(value) {
		return nil, invalid
	}
	var raw [ticketIDBytes + ticketSecretBytes]byte
	if n, err := base64.RawURLEncoding.Decode(raw[:], []byte(value[len(ticketPrefix):])); err != nil || n != len(raw) {
		return nil, invalid
	}
	var key [ticketIDBytes]byte
	copy(key[:], raw[:ticketIDBytes])
	sum := sha256.Sum256(raw[ticketIDBytes:])

	t.mu.Lock()
	e, ok := t.entries[key]
	if ok {
		delete(t.entries, key) // single use, and burnt on a wrong secret
	}
	t.mu.Unlock()
	if !ok || subtle.ConstantTimeCompare(sum[:], e.verifier[:]) != 1 || !time.Now().Before(e.expires) {
		return nil, invalid
	}
	id := *e.identity
	id.Ticket = true
	return &id, nil
}

// Len returns the number of stored tickets, expired ones included until
// the next sweep.
func (t *Tickets) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.entries)
}

func (t *Tickets) sweepLocked(now time.Time) {
	for k, e := range t.entries {
		if !now.Before(e.expires) {
			delete(t.entries, k)
		}
	}
}
