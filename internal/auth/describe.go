package auth

import (
	"time"

	"github.com/pgcdc/pgcdc/pipeline"
)

// Description is the effective scope of an identity as GET /api/whoami
// shows it, for debugging: JSON-able, with the claims substituted into
// the filters. It holds no credential.
type Description struct {
	Subject      string     `json:"subject,omitempty"`
	Method       Method     `json:"method"`
	Source       string     `json:"source,omitempty"`
	Ticket       bool       `json:"ticket,omitempty"`
	Expires      *time.Time `json:"expires,omitempty"`
	DisconnectAt *time.Time `json:"disconnect_at,omitempty"`
	// TableRules are the table patterns, one list per rule (the config's
	// scope, a named scope, a tables claim); a table is readable when it
	// matches a pattern of every list. Empty: every table.
	TableRules [][]string `json:"table_rules"`
	// Tables are the published tables the scope may read, when the
	// server knows them.
	Tables []string `json:"tables,omitempty"`
	// Filters are the forced row filters, claims substituted, ANDed.
	Filters []string `json:"filters"`
	// Columns are the column rules by table pattern.
	Columns []ColumnDescription `json:"columns,omitempty"`
}

// ColumnDescription is one column rule.
type ColumnDescription struct {
	Tables  string   `json:"tables"`
	Include []string `json:"include,omitempty"`
	Exclude []string `json:"exclude,omitempty"`
}

// Describe returns the identity's Description. cat, when not nil, lists
// the published tables the scope allows.
func (id *Identity) Describe(cat pipeline.Catalog) Description {
	d := id.Scope.Describe(cat)
	d.Subject, d.Method, d.Ticket = id.Subject, id.Method, id.Ticket
	if id.Source != 0 {
		d.Source = id.Source.String()
	}
	if !id.Expires.IsZero() {
		exp, dis := id.Expires.UTC(), id.disconnectAt.UTC()
		d.Expires, d.DisconnectAt = &exp, &dis
	}
	return d
}

// Describe returns the scope's part of a Description.
func (s *Scope) Describe(cat pipeline.Catalog) Description {
	d := Description{TableRules: [][]string{}, Filters: []string{}}
	d.TableRules = append(d.TableRules, s.policy.tableText...)
	d.TableRules = append(d.TableRules, s.claimText...)
	for _, c := range s.conds {
		d.Filters = append(d.Filters, c.String())
	}
	for _, r := range s.policy.columns {
		cd := ColumnDescription{Tables: r.text}
		if r.include {
			cd.Include = r.cols
		} else {
			cd.Exclude = r.cols
		}
		d.Columns = append(d.Columns, cd)
	}
	if cat != nil {
		for _, t := range cat.Tables() {
			if s.AllowTable(t.Schema, t.Table) {
				d.Tables = append(d.Tables, t.Schema+"."+t.Table)
			}
		}
	}
	return d
}
