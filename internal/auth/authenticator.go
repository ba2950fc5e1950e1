package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/pgcdc/pgcdc/pipeline"
)

// Config is the complete access control of the live endpoints
// (server.auth). The package takes it as given: internal/wiring builds it
// from the validated config.Auth; New checks only what needs the process
// (files, the key set, the tokens).
type Config struct {
	Mode Method // none | token | jwt
	// Tokens and TokensFile are the static tokens of mode token.
	Tokens     []StaticToken
	TokensFile string
	// Scopes are named scopes a static token may refer to.
	Scopes map[string]Rules
	// Scope are the rules every token is held to (for a static token with
	// a named scope, both apply).
	Scope Rules
	JWT   JWTConfig
	// TicketTTL and MaxTickets size the ticket store (0: the defaults).
	TicketTTL  time.Duration
	MaxTickets int
}

// Authenticator authenticates requests to the live endpoints and mints
// tickets. It is safe for concurrent use.
type Authenticator struct {
	mode     Method
	log      *slog.Logger
	tokens   staticTokens
	jwt      *jwtVerifier
	policy   *Policy   // mode jwt: the one policy every token is bound from
	policies []*Policy // every policy, for CheckCatalog
	tickets  *Tickets
	none     *Identity
}

// New returns the Authenticator of cfg. ctx bounds the life of the JWKS
// refresh goroutine (mode jwt with jwks_url): cancel it at shutdown.
// logger may be nil.
func New(ctx context.Context, cfg Config, logger *slog.Logger) (*Authenticator, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("component", "auth")
	a := &Authenticator{mode: cfg.Mode, log: logger, tickets: NewTickets(cfg.TicketTTL, cfg.MaxTickets)}
	switch cfg.Mode {
	case MethodNone, "":
		a.mode = MethodNone
		a.none = &Identity{Method: MethodNone, Scope: Unrestricted}
		a.policies = []*Policy{Unrestricted.policy}
		return a, nil
	case MethodToken:
		if err := a.setTokens(cfg); err != nil {
			return nil, fmt.Errorf("auth: %w", err)
		}
		return a, nil
	case MethodJWT:
		p, err := Compile(cfg.Scope)
		if err != nil {
			return nil, fmt.Errorf("auth: scope: %w", err)
		}
		v, err := newJWTVerifier(ctx, cfg.JWT, logger)
		if err != nil {
			return nil, fmt.Errorf("auth: %w", err)
		}
		a.jwt, a.policy, a.policies = v, p, []*Policy{p}
		return a, nil
	}
	return nil, fmt.Errorf("auth: unknown mode %q: want none, token or jwt", cfg.Mode)
}

// setTokens compiles the static tokens of mode token, one policy per
// named scope (so that the tokens sharing a scope share a Policy).
func (a *Authenticator) setTokens(cfg Config) error {
	all := slices.Clone(cfg.Tokens)
	if cfg.TokensFile != "" {
		more, err := LoadTokensFile(cfg.TokensFile)
		if err != nil {
			return err
		}
		all = append(all, more...)
	}
	if len(all) == 0 {
		return errors.New("mode token: no tokens: set tokens or tokens_file")
	}
	policies := map[string]*Policy{}
	seen := map[[32]byte]string{}
	for i, t := range all {
		name := t.Name
		if name == "" {
			name = fmt.Sprintf("tokens[%d]", i)
		}
		if err := CheckStaticToken(t.Token); err != nil {
			return fmt.Errorf("token %q %w", name, err)
		}
		p, ok := policies[t.Scope]
		if !ok {
			rules := []Rules{cfg.Scope}
			if t.Scope != "" {
				named, ok := cfg.Scopes[t.Scope]
				if !ok {
					return fmt.Errorf("token %q: unknown scope %q: define it under scopes", name, t.Scope)
				}
				rules = append(rules, named)
			}
			var err error
			if p, err = Compile(rules...); err != nil {
				return fmt.Errorf("scope %q: %w", t.Scope, err)
			}
			if p.HasClaims() {
				return fmt.Errorf("scope %q: static tokens have no claims: write the value into the filter (tenant_id=eq.7) instead of {claims...}, and drop tables_claim", t.Scope)
			}
			policies[t.Scope] = p
			a.policies = append(a.policies, p)
		}
		s, err := p.Bind(nil)
		if err != nil {
			return fmt.Errorf("scope %q: %w", t.Scope, err)
		}
		e := staticEntry{identity: Identity{Subject: name, Method: MethodToken, Scope: s}}
		e.sum = sha256Sum(t.Token)
		if other, dup := seen[e.sum]; dup {
			return fmt.Errorf("token %q is the same as token %q: give every client its own", name, other)
		}
		seen[e.sum] = name
		a.tokens.entries = append(a.tokens.entries, e)
	}
	return nil
}

// Mode returns the authentication mode.
func (a *Authenticator) Mode() Method { return a.mode }

// Authenticate verifies a credential and returns the identity it proves.
// A ticket (IsTicket) is redeemed, once. Its errors are *Error.
func (a *Authenticator) Authenticate(ctx context.Context, c Credential) (*Identity, error) {
	if a.mode == MethodNone {
		id := *a.none
		id.Source = c.Source
		return &id, nil
	}
	now := time.Now()
	if IsTicket(c.Token) {
		id, err := a.tickets.Redeem(c.Token)
		if err != nil {
			return nil, err
		}
		id.Source = c.Source
		return id, nil
	}
	switch a.mode {
	case MethodToken:
		id, ok := a.tokens.verify(c.Token)
		if !ok {
			return nil, newError(ReasonInvalid, "unknown token")
		}
		id.Source = c.Source
		return newIdentity(*id, now), nil
	case MethodJWT:
		claims, exp, err := a.jwt.verify(ctx, c.Token)
		if err != nil {
			return nil, err
		}
		scope, err := a.policy.Bind(claims)
		if err != nil {
			return nil, err
		}
		sub, _ := claims["sub"].(string)
		return newIdentity(Identity{Subject: sub, Method: MethodJWT, Source: c.Source, Expires: exp, Scope: scope}, now), nil
	}
	return nil, newError(ReasonInvalid, "authentication is not configured")
}

// AuthenticateRequest finds the request's credential (FromRequest, from
// the given sources or all) and authenticates it. With mode none it
// returns the unrestricted identity without looking.
func (a *Authenticator) AuthenticateRequest(r *http.Request, from ...Source) (*Identity, error) {
	if a.mode == MethodNone {
		return a.Authenticate(r.Context(), Credential{})
	}
	c, err := FromRequest(r, from...)
	if err != nil {
		return nil, err
	}
	return a.Authenticate(r.Context(), c)
}

// MintTicket handles POST /api/ticket: it authenticates the request's
// bearer token, from the Authorization header only (a cookie could be
// sent by a cross-site form; a ticket cannot mint a ticket), and returns a
// single-use ticket bound to its identity.
func (a *Authenticator) MintTicket(r *http.Request) (Ticket, error) {
	if a.mode == MethodNone {
		return Ticket{}, newError(ReasonInvalid, "authentication is off (server.auth.mode none): no ticket is needed")
	}
	c, err := FromRequest(r, SourceHeader)
	if err != nil {
		return Ticket{}, err
	}
	if IsTicket(c.Token) {
		return Ticket{}, newError(ReasonTicket, "a ticket cannot be exchanged for another ticket: send the token itself")
	}
	id, err := a.Authenticate(r.Context(), c)
	if err != nil {
		return Ticket{}, err
	}
	return a.tickets.Mint(id)
}

// CheckCatalog checks every scope policy against the published tables
// (Policy.CheckCatalog).
func (a *Authenticator) CheckCatalog(cat pipeline.Catalog) error {
	var errs []error
	for _, p := range a.policies {
		errs = append(errs, p.CheckCatalog(cat))
	}
	return errors.Join(errs...)
}

// Policies returns the policies scopes are bound from.
func (a *Authenticator) Policies() []*Policy { return slices.Clone(a.policies) }

// String describes the authenticator without any secret.
func (a *Authenticator) String() string {
	var b strings.Builder
	b.WriteString("auth mode ")
	b.WriteString(string(a.mode))
	if a.mode == MethodToken {
		fmt.Fprintf(&b, " (%d tokens)", len(a.tokens.entries))
	}
	return b.String()
}
