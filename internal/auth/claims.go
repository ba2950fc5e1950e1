package auth

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// Claims are a token's claims as decoded JSON: numbers are json.Number
// (so that an id of 20 digits keeps every digit), objects map[string]any,
// arrays []any.
type Claims map[string]any

// lookup returns the claim name: a top-level claim of that exact name
// (namespaced claims such as "https://example.com/tenant" contain dots),
// else a path of dot-separated members ("org.id" is claims.org.id).
func (c Claims) lookup(name string) (any, bool) {
	if v, ok := c[name]; ok {
		return v, true
	}
	var cur any = map[string]any(c)
	for part := range strings.SplitSeq(name, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[part]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// scalar returns a claim value as the text a filter compares: a string as
// it is, a number exactly as the token wrote it, a boolean as true or
// false. Anything else (null, an object, an array) is not a scalar.
func scalar(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(v), true
	}
	return "", false
}

// claimValues returns the values of a claim bound into a filter: one
// scalar, or, when list is set (an in list), the items of an array of
// scalars. A missing, null, empty-string or empty-array claim is missing:
// the scope fails closed.
func (c Claims) claimValues(name string, list bool) ([]string, error) {
	v, ok := c.lookup(name)
	if !ok || v == nil {
		return nil, newError(ReasonClaims, "the token lacks the claim "+strconv.Quote(name)+" that its scope requires")
	}
	if items, isList := v.([]any); isList && list {
		if len(items) == 0 {
			return nil, newError(ReasonClaims, "the claim "+strconv.Quote(name)+" is an empty list: the scope requires at least one value")
		}
		out := make([]string, len(items))
		for i, it := range items {
			s, ok := scalar(it)
			if !ok || s == "" {
				return nil, newError(ReasonClaims, "the claim "+strconv.Quote(name)+" must be a list of non-empty strings, numbers or booleans")
			}
			out[i] = s
		}
		return out, nil
	}
	s, ok := scalar(v)
	if !ok {
		want := "a string, number or boolean"
		if list {
			want += ", or a list of them"
		}
		return nil, newError(ReasonClaims, "the claim "+strconv.Quote(name)+" must be "+want)
	}
	if s == "" {
		return nil, newError(ReasonClaims, "the claim "+strconv.Quote(name)+" is empty: the scope requires a value")
	}
	return []string{s}, nil
}

// decodeClaims decodes a JSON object of claims with numbers kept exact.
func decodeClaims(b []byte, c *Claims) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(c)
}
