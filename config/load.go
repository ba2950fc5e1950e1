package config

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/goccy/go-yaml/ast"
)

// Document is a decoded configuration file: the Config plus where each key
// was written, so that later problems (from Validate) can point at lines.
type Document struct {
	// Name is the file name used in messages.
	Name string
	// Config is the decoded configuration, before env overrides and
	// defaults.
	Config *Config

	pos map[string]position
}

// Load reads the YAML file at path and decodes it strictly into a Config:
// ${VAR} and ${VAR:-default} in values are expanded from env (nil: no
// variables are set), unknown keys and malformed values are errors with
// their line, column and key path, e.g.
//
//	pipeline.yaml:10:5: sinks[1]: unknown field "tiemout" (did you mean "timeout"?)
//
// The problems are returned together as Errors. Load neither applies env
// overrides nor defaults nor validates: see LoadDocument and
// Document.Resolve for the whole sequence.
func Load(path string, env func(string) (string, bool)) (*Config, error) {
	doc, err := LoadDocument(path, env)
	if err != nil {
		return nil, err
	}
	return doc.Config, nil
}

// Parse is Load for bytes already read; name is the file name used in
// messages.
func Parse(data []byte, name string, env func(string) (string, bool)) (*Config, error) {
	doc, err := ParseDocument(data, name, env)
	if err != nil {
		return nil, err
	}
	return doc.Config, nil
}

// LoadDocument is Load returning the Document, whose key positions let
// Locate and Resolve point validation problems at lines. Messages name the
// file by path, as given.
func LoadDocument(path string, env func(string) (string, bool)) (*Document, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return ParseDocument(data, path, env)
}

// ParseDocument is LoadDocument for bytes already read.
func ParseDocument(data []byte, name string, env func(string) (string, bool)) (*Document, error) {
	f, err := parseYAML(data)
	if err != nil {
		return nil, withFile(err, name)
	}
	d := &decoder{env: env, anchors: map[string]ast.Node{}, pos: map[string]position{}}
	cfg := &Config{}
	d.decodeFile(f, cfg)
	if err := d.errs.err(); err != nil {
		return nil, withFile(err, name)
	}
	return &Document{Name: name, Config: cfg, pos: d.pos}, nil
}

// Resolve turns the decoded file into the effective configuration, in
// place: it applies the PGCDC_* overrides found in environ (see ApplyEnv),
// then the defaults (SetDefaults), then validates (Validate). It returns
// every problem found, as Errors located in the file where possible.
func (d *Document) Resolve(environ []string) error {
	var all Errors
	overridden, err := applyEnv(d.Config, environ)
	if err != nil {
		all = appendErrors(all, err)
	}
	d.Config.SetDefaults()
	if err := d.Config.Validate(); err != nil {
		all = appendErrors(all, d.locate(err, overridden))
	}
	if len(all) == 0 {
		return nil
	}
	// Read top to bottom: problems without a line (env overrides, absent
	// sections) first, then in file order.
	slices.SortStableFunc(all, func(a, b *FieldError) int {
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return a.Column - b.Column
	})
	return all
}

// Locate returns err with the file name added to each FieldError, and the
// line and column where its path, or the nearest enclosing path, was
// written in the file: a problem with an absent key (a required field)
// points at its parent. Errors of other types are returned unchanged.
func (d *Document) Locate(err error) error {
	return d.locate(err, nil)
}

// locate is Locate; a problem with a key set by an environment variable
// (in overridden, path to variable) names the variable instead of a line.
func (d *Document) locate(err error, overridden map[string]string) error {
	var es Errors
	if !errors.As(err, &es) {
		return err
	}
	out := make(Errors, len(es))
	for i, e := range es {
		c := *e
		if name, ok := overriddenBy(c.Path, overridden); ok {
			// Not from the file: name the variable, not a line.
			c.Msg += " (set by " + name + ")"
			out[i] = &c
			continue
		}
		if c.File == "" {
			c.File = d.Name
		}
		if c.Line == 0 {
			if p, ok := d.position(c.Path); ok {
				c.Line, c.Column = p.line, p.col
			}
		}
		out[i] = &c
	}
	return out
}

// Position returns where the key at path (e.g. "sinks[1].retry.max") was
// written, or ok false when it was not.
func (d *Document) Position(path string) (line, col int, ok bool) {
	p, ok := d.pos[path]
	return p.line, p.col, ok
}

// position finds path or its nearest written ancestor.
func (d *Document) position(path string) (position, bool) {
	for path != "" {
		if p, ok := d.pos[path]; ok {
			return p, true
		}
		cut := strings.LastIndexAny(path, ".[")
		if cut < 0 {
			break
		}
		path = path[:cut]
	}
	return position{}, false
}

// overriddenBy returns the variable that set path or a key enclosing it.
func overriddenBy(path string, overridden map[string]string) (string, bool) {
	for p, name := range overridden {
		if path == p || strings.HasPrefix(path, p+".") || strings.HasPrefix(path, p+"[") {
			return name, true
		}
	}
	return "", false
}

// withFile sets the file name on the located problems of err.
func withFile(err error, name string) error {
	var es Errors
	if !errors.As(err, &es) {
		return err
	}
	for _, e := range es {
		if e.File == "" {
			e.File = name
		}
	}
	return es
}

// appendErrors adds err's problems to all.
func appendErrors(all Errors, err error) Errors {
	var es Errors
	if errors.As(err, &es) {
		return append(all, es...)
	}
	return append(all, &FieldError{Msg: err.Error()})
}
