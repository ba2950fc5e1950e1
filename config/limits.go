package config

import (
	"bytes"
	"fmt"
)

// Limits that keep hostile input cheap. They are checked before the YAML
// parser sees the bytes, because the parser's memory grows much faster
// than the input on deep nesting (80 KB of "[" took 2.5 GB), and while
// decoding (alias bombs).
const (
	maxFileBytes = 1 << 20 // a real config is a few KB
	maxDepth     = 64      // nesting of mappings, lists and aliases
	maxNodes     = 100_000 // values decoded, aliases included
)

// checkSize rejects input that is too large or nested too deeply to
// parse, with the line where the nesting limit was passed. Nesting is
// counted from brackets outside quotes and comments (flow style) plus the
// indentation levels and "- " entries that open a line (block style); a
// block scalar's lines count too, which only matters past maxDepth.
func checkSize(data []byte) *FieldError {
	if len(data) > maxFileBytes {
		return &FieldError{Msg: fmt.Sprintf("file too large: %d bytes, the limit is %d", len(data), maxFileBytes)}
	}
	flow := 0
	var indents []int // open block levels, by column
	for n, line := range bytes.Split(data, []byte("\n")) {
		col := 0
		for col < len(line) && line[col] == ' ' {
			col++
		}
		rest := line[col:]
		if flow == 0 && len(rest) > 0 && rest[0] != '#' {
			for len(rest) > 1 && (rest[0] == '-' || rest[0] == '?') && rest[1] == ' ' {
				indents = openBlock(indents, col)
				col += 2
				rest = rest[2:]
			}
			indents = openBlock(indents, col)
		}
		var quote byte
		for i := 0; i < len(rest); i++ {
			switch c := rest[i]; {
			case quote == '"' && c == '\\':
				i++
			case quote != 0:
				if c == quote {
					quote = 0
				}
			case c == '"' || c == '\'':
				quote = c
			case c == '#' && (i == 0 || rest[i-1] == ' ' || rest[i-1] == '\t'):
				i = len(rest)
			case c == '[' || c == '{':
				flow++
			case (c == ']' || c == '}') && flow > 0:
				flow--
			}
		}
		if flow+len(indents) > maxDepth {
			return &FieldError{Line: n + 1, Msg: fmt.Sprintf("nested more than %d levels deep", maxDepth)}
		}
	}
	return nil
}

// openBlock returns the block levels open at a line starting at col.
func openBlock(indents []int, col int) []int {
	for len(indents) > 0 && indents[len(indents)-1] > col {
		indents = indents[:len(indents)-1]
	}
	if len(indents) == 0 || indents[len(indents)-1] < col {
		indents = append(indents, col)
	}
	return indents
}
