// Package transform holds the filter grammar shared by the YAML config
// (transforms and per-sink filter/project) and by SSE/WebSocket
// subscriptions, and the two transforms built on it: Filter (tables, ops,
// rows) and Project (columns).
//
// # Row filters
//
// A row filter is column=[not.]operator.value (ParseCond):
//
//	status=eq.pending      total=gt.100         region=in.(eu,us)
//	deleted_at=is.null     paid=is.true         name=like.Jo%
//	status=not.eq.draft    "order total"=lte.9.99
//
// Operators: eq, neq, lt, lte, gt, gte, in.(a,b,...), is.null, is.true,
// is.false and like (SQL LIKE: % matches any run of characters, _ exactly
// one character, a backslash makes the next character literal). The not.
// prefix negates any operator.
//
// The column is a plain identifier (letters, digits, _ and $) or a
// double-quoted name in which a backslash escapes the next character
// ("a\"b"). Names compare exactly; there is no case folding. The value of a
// scalar operator is everything after the operator's dot, verbatim (it may
// contain dots, commas and quotes; eq. with nothing after it compares with
// the empty string). Items of an in list are separated by commas;
// surrounding white space is trimmed; an item that contains a comma,
// parenthesis or double quote, that has leading or trailing space, or that
// is empty must be double-quoted: in.("a,b",c,"").
//
// # Matching
//
// Values compare as the column's pipeline.Kind. KindNumber compares exactly
// (int8 and numeric strings of any length, no float rounding) with
// PostgreSQL's order for the special values: -Infinity < every number <
// Infinity < NaN, and NaN equals NaN. KindBool compares false < true.
// KindTime compares as instants when both sides parse as a date
// (2006-01-02) or a timestamp (2006-01-02T15:04:05[.frac][Z|±hh[:mm]], a
// space may replace the T); a timestamp without an offset, and a date, are
// taken as UTC; "infinity" and "-infinity" order after and before every
// instant. Everything else, and any side that does not parse as the column's
// kind, compares as text, byte by byte (UTF-8 code point order, not a
// database collation): a JSON string by its unescaped content, any other
// JSON value by its JSON text. like always matches the text.
//
// SQL NULL: is.null matches it, is.true and is.false do not, and not.
// negates those three as in SQL (not.is.null matches every non-null value,
// not.is.true matches NULL). Every other operator is false on NULL, with or
// without not. A column that is absent from the row never matches, whatever
// the operator: this covers key-only old rows (REPLICA IDENTITY DEFAULT)
// and unchanged TOAST values the server did not send.
//
// # Table patterns
//
// A table pattern is schema.table (ParseTablePattern). Each part is a name
// in which * matches any run of characters, or a double-quoted literal name.
// A pattern without a dot names a table of schema public (PostgreSQL's
// default search_path); the pattern * alone matches every table of every
// schema.
package transform
