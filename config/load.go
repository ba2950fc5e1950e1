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
	// Config is the decoded configuration: before Resolve, without env
	// overrides and defaults; after it, the effective configuration.
	Config *Config
	// Warnings, set by Resolve, are problems that do not stop pgcdc (a
	// webhook secret shorter than recommended, certificate checks turned
	// off), located like errors. validate prints them, run logs them.
	Warnings Errors

	pos    map[string]position
	errs   Errors          // decoding problems, reported again by Resolve
	failed map[string]bool // paths whose value did not decode
}

// Parse decodes data strictly into a Config: ${VAR} and ${VAR:-default}
// in values are expanded from env (nil: no variables are set), unknown
// keys and malformed values are errors with their line, column and key
// path, e.g.
//
//	pipeline.yaml:10:5: sinks[1]: unknown field "tiemout" (did you mean "timeout"?)
//
// The problems are returned together as Errors; name is the file name
// used in them. Parse neither applies env overrides nor defaults nor
// validates: see ParseDocument and Document.Resolve for the whole
// sequence.
func Parse(data []byte, name string, env func(string) (string, bool)) (*Config, error) {
	doc, err := ParseDocument(data, name, env)
	if err != nil {
		return nil, err
	}
	return doc.Config, nil
}

// LoadDocument reads the file at path and decodes it like Parse,
// returning the Document, whose key positions let Resolve point
// validation problems at lines. Messages name the file by
// path, as given. When the file parses as YAML but some values do not
// decode, it returns both the Document (holding what did decode) and
// the problems, which Resolve reports again together with every other
// problem: `pgcdc validate` shows all of them in one pass.
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
	d := &decoder{env: env, anchors: map[string][]*ast.AnchorNode{}, pos: map[string]position{}, failed: map[string]bool{}}
	doc := &Document{Name: name, Config: &Config{}, pos: d.pos, failed: d.failed}
	d.decodeFile(f, doc.Config)
	if err := d.errs.err(); err != nil {
		doc.errs = withFile(err, name).(Errors)
		return doc, doc.errs
	}
	return doc, nil
}

// Needs says which parts of a configuration a command uses: Resolve
// insists on the required keys of those parts only. Whatever is set is
// checked either way.
type Needs uint8

const (
	// NeedSource: source.dsn (run, check, slot, publication).
	NeedSource Needs = 1 << iota
	// NeedSinks: at least one sink (run, validate, deadletter).
	NeedSinks
	// NeedAll is what run needs, and what validate checks.
	NeedAll = NeedSource | NeedSinks
)

// Resolve turns the decoded file into the effective configuration, in
// place: it applies the PGCDC_* overrides found in environ (see ApplyEnv),
// then settings (which win over the environment; e.g. command-line
// flags), then the defaults (SetDefaults), then validates what needs asks
// for (Validate). It returns every problem found, decoding problems
// included, as Errors located in the file where possible, in file order;
// a value that did not decode is not reported a second time by
// validation. It sets d.Warnings.
func (d *Document) Resolve(environ []string, needs Needs, settings ...Setting) error {
	all := slices.Clone(d.errs)
	overridden, err := applyEnv(d.Config, environ, settings)
	if err != nil {
		all = appendErrors(all, err)
	}
	d.Config.SetDefaults()
	var v errorList
	d.Config.validate(&v, needs)
	if needs&NeedSinks != 0 {
		_, written := d.pos["server.auth.mode"]
		_, byEnv := overridden["server.auth.mode"]
		if e := d.Config.checkOpenListen(written || byEnv); e != nil {
			v.errs = append(v.errs, e)
		}
	}
	for _, e := range v.errs {
		if !d.decodeFailed(e.Path) {
			all = append(all, d.locate(e, overridden))
		}
	}
	d.Warnings = nil
	for _, w := range d.Config.Warnings() {
		d.Warnings = append(d.Warnings, d.locate(w, overridden))
	}
	sortByLine(d.Warnings)
	if len(all) == 0 {
		return nil
	}
	sortByLine(all)
	return all
}

// sortByLine puts problems without a line (env overrides, absent
// sections) first, then the others in file order.
func sortByLine(es Errors) {
	slices.SortStableFunc(es, func(a, b *FieldError) int {
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return a.Column - b.Column
	})
}

// decodeFailed reports whether the value at path, or one enclosing it,
// did not decode.
func (d *Document) decodeFailed(path string) bool {
	for p := range d.failed {
		if within(path, p) {
			return true
		}
	}
	return false
}

// locate returns a copy of e with the file name, and the line and column
// where its path, or the nearest enclosing path, was written in the file:
// a problem with an absent key (a required field) points at its parent.
// A problem with a key set by an environment variable or a setting (in
// overridden, path to its source) names that instead of a line.
func (d *Document) locate(e *FieldError, overridden map[string]string) *FieldError {
	c := *e
	if name, ok := overriddenBy(c.Path, overridden); ok {
		c.Msg += " (set by " + name + ")"
		return &c
	}
	if c.File == "" {
		c.File = d.Name
	}
	if p, ok := d.position(c.Path); ok && c.Line == 0 {
		c.Line, c.Column = p.line, p.col
	}
	return &c
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

// overriddenBy returns what set path or a key enclosing it.
func overriddenBy(path string, overridden map[string]string) (string, bool) {
	for p, name := range overridden {
		if within(path, p) {
			return name, true
		}
	}
	return "", false
}

// within reports whether path is parent or a key below it; every path is
// within the root, "".
func within(path, parent string) bool {
	return parent == "" || path == parent || strings.HasPrefix(path, parent+".") || strings.HasPrefix(path, parent+"[")
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
