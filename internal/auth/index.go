package auth

import (
	"sync"

	"github.com/pgcdc/pgcdc/pipeline"
	"github.com/pgcdc/pgcdc/pipeline/transform"
)

// Index routes events to many subscribers, each with a Scope, evaluating
// each distinct forced filter once per event instead of once per
// subscriber (the per-delivery cost of 1,000 clients of 1,000 tenants
// stays that of the unscoped case; BenchmarkRoute measures it).
//
// Subscribers are grouped by their scope's Policy, and within a policy by
// class: the scopes with the same bound claims, which see exactly the
// same events. When the policy has a forced equality filter with a claim
// (tenant_id=eq.{claims.tenant_id}, or an in list), its classes are
// indexed by the equality key of their bound values
// (transform.AppendEqualKey), so an event finds the classes it may be
// visible to with one lookup of its row's value (two for an update: the
// new row's and the old row's); each candidate class then applies its
// full scope once (Scope.verdict), so the index can only narrow, never
// widen, what Scope.Apply would deliver. Policies without such a filter
// evaluate each class once. What a class sees (the projected event, or
// the insert or delete synthesized for an update that crosses scopes)
// depends only on the policy and the verdict, so it is built once per
// event per policy and shared.
//
// An Index is safe for concurrent use. Route holds a read lock while it
// calls deliver; Add and Remove wait for it.
type Index[S comparable] struct {
	mu     sync.RWMutex
	groups map[*Policy]*policyGroup[S]
	list   []*policyGroup[S] // groups, iterated per event (faster than the map)
}

type policyGroup[S comparable] struct {
	policy  *Policy
	classes map[string]*class[S]
	// eq is the index of the forced filter the classes are keyed by, -1
	// when there is none; byKey maps an equality key to the classes one of
	// whose bound values has it.
	eq     int
	column string
	byKey  map[string][]*class[S]
}

type class[S comparable] struct {
	scope *Scope // any scope of the class: they all see the same
	subs  []S
	pos   map[S]int // index in subs
	keys  []string  // the byKey entries of the class
}

// NewIndex returns an empty Index.
func NewIndex[S comparable]() *Index[S] {
	return &Index[S]{groups: map[*Policy]*policyGroup[S]{}}
}

// Add registers sub with scope s. Adding a subscriber twice keeps one.
func (ix *Index[S]) Add(s *Scope, sub S) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	g := ix.groups[s.policy]
	if g == nil {
		g = newPolicyGroup[S](s.policy)
		ix.groups[s.policy] = g
		ix.list = append(ix.list, g)
	}
	c := g.classes[s.class]
	if c == nil {
		c = &class[S]{scope: s, pos: map[S]int{}}
		g.classes[s.class] = c
		if g.eq >= 0 {
			c.keys = equalKeys(s.conds[g.eq])
			for _, k := range c.keys {
				g.byKey[k] = append(g.byKey[k], c)
			}
		}
	}
	if _, dup := c.pos[sub]; !dup {
		c.pos[sub] = len(c.subs)
		c.subs = append(c.subs, sub)
	}
}

// Remove unregisters sub, which was added with scope s.
func (ix *Index[S]) Remove(s *Scope, sub S) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	g := ix.groups[s.policy]
	if g == nil {
		return
	}
	c := g.classes[s.class]
	if c == nil {
		return
	}
	i, ok := c.pos[sub]
	if !ok {
		return
	}
	last := c.subs[len(c.subs)-1]
	c.subs[i], c.pos[last] = last, i
	c.subs = c.subs[:len(c.subs)-1]
	delete(c.pos, sub)
	if len(c.subs) > 0 {
		return
	}
	delete(g.classes, s.class)
	for _, k := range c.keys {
		list := g.byKey[k]
		for i, other := range list {
			if other == c {
				list = append(list[:i:i], list[i+1:]...)
				break
			}
		}
		if len(list) == 0 {
			delete(g.byKey, k)
		} else {
			g.byKey[k] = list
		}
	}
	if len(g.classes) == 0 {
		delete(ix.groups, s.policy)
		for i, other := range ix.list {
			if other == g {
				ix.list = append(ix.list[:i:i], ix.list[i+1:]...)
				break
			}
		}
	}
}

// Len returns the number of subscribers.
func (ix *Index[S]) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	n := 0
	for _, g := range ix.list {
		for _, c := range g.classes {
			n += len(c.subs)
		}
	}
	return n
}

func newPolicyGroup[S comparable](p *Policy) *policyGroup[S] {
	g := &policyGroup[S]{policy: p, classes: map[string]*class[S]{}, eq: -1}
	for i := range p.filters {
		f := &p.filters[i]
		if f.claims && !f.not && (f.op == transform.OpEq || f.op == transform.OpIn) {
			g.eq, g.column, g.byKey = i, f.column, map[string][]*class[S]{}
			break
		}
	}
	return g
}

// keyKinds are the kinds whose equality keys differ (every other kind is
// keyed like KindString): a class is filed under its values' keys for
// each, since the column's kind is known only from the event.
var keyKinds = []pipeline.Kind{pipeline.KindString, pipeline.KindNumber, pipeline.KindTime, pipeline.KindInterval, pipeline.KindClock}

// equalKeys returns the distinct equality keys of the condition's values
// under every kind.
func equalKeys(c transform.Cond) []string {
	var out []string
	for _, v := range c.Values() {
		for _, k := range keyKinds {
			key := string(transform.AppendEqualKey(nil, k, v))
			dup := false
			for _, o := range out {
				if o == key {
					dup = true
					break
				}
			}
			if !dup {
				out = append(out, key)
			}
		}
	}
	return out
}

// Route calls deliver for every subscriber that may see e, with what it
// may see (Scope.Apply of its scope, computed once per policy and
// verdict). The view is shared by many subscribers: never modify it; its
// encoding (Encoded) is computed before deliver is called. deliver must
// not block, and must not call Add or Remove.
func (ix *Index[S]) Route(e *pipeline.Event, deliver func(sub S, view *pipeline.Event)) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	var buf [64]byte
	var candBuf [4]*class[S]
	cands := candBuf[:0]
	for _, g := range ix.list {
		if e.Op == pipeline.OpTruncate {
			for _, c := range g.classes {
				if v := c.scope.truncate(e); v != nil {
					c.deliver(encoded(e, v), deliver)
				}
			}
			continue
		}
		if !g.policy.allowTable(e.Schema, e.Table) {
			continue
		}
		var views [nVerdicts]*pipeline.Event
		visit := func(c *class[S]) {
			if !matchGroups(c.scope.claimTables, e.Schema, e.Table) {
				return
			}
			v := c.scope.verdict(e)
			if v == hide {
				return
			}
			if views[v] == nil {
				views[v] = encoded(e, g.policy.view(e, v))
			}
			c.deliver(views[v], deliver)
		}
		if g.eq < 0 {
			for _, c := range g.classes {
				visit(c)
			}
			continue
		}
		cands = cands[:0]
		if e.Op != pipeline.OpDelete {
			if col, ok := newValue(e, g.column); ok {
				cands = g.lookup(cands, col, buf[:0])
			}
		}
		if e.Op == pipeline.OpDelete || e.Op == pipeline.OpUpdate {
			if col, ok := oldRow(e).Get(g.column); ok {
				cands = g.lookup(cands, col, buf[:0])
			}
		}
		for _, c := range cands {
			visit(c)
		}
	}
}

// lookup appends to cands the classes filed under the column's key that
// it does not hold yet.
func (g *policyGroup[S]) lookup(cands []*class[S], col pipeline.Column, buf []byte) []*class[S] {
	key, ok := transform.AppendColumnKey(buf, col)
	if !ok {
		return cands
	}
next:
	for _, c := range g.byKey[string(key)] {
		for _, have := range cands {
			if have == c {
				continue next
			}
		}
		cands = append(cands, c)
	}
	return cands
}

func (c *class[S]) deliver(view *pipeline.Event, deliver func(S, *pipeline.Event)) {
	for _, sub := range c.subs {
		deliver(sub, view)
	}
}

// encoded computes the encoding of a view other than e itself, which the
// pipeline encoded before the fan-out.
func encoded(e, view *pipeline.Event) *pipeline.Event {
	if view != e {
		view.Encoded()
	}
	return view
}
