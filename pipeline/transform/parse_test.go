package transform

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseCond(t *testing.T) {
	tests := []struct {
		in     string
		column string
		op     Operator
		not    bool
		values []string
		canon  string // String(), when it differs from in
	}{
		{in: "status=eq.pending", column: "status", op: OpEq, values: []string{"pending"}},
		{in: "total=gt.100", column: "total", op: OpGt, values: []string{"100"}},
		{in: "a=neq.x", column: "a", op: OpNeq, values: []string{"x"}},
		{in: "a=lt.1", column: "a", op: OpLt, values: []string{"1"}},
		{in: "a=lte.1", column: "a", op: OpLte, values: []string{"1"}},
		{in: "a=gte.1", column: "a", op: OpGte, values: []string{"1"}},
		{in: "deleted_at=is.null", column: "deleted_at", op: OpIsNull, values: []string{}},
		{in: "paid=is.true", column: "paid", op: OpIsTrue, values: []string{}},
		{in: "paid=is.false", column: "paid", op: OpIsFalse, values: []string{}},
		{in: "paid=not.is.null", column: "paid", op: OpIsNull, not: true, values: []string{}},
		{in: "name=like.Jo%", column: "name", op: OpLike, values: []string{"Jo%"}},
		{in: "region=in.(eu,us)", column: "region", op: OpIn, values: []string{"eu", "us"}},
		{in: "region=not.in.(eu,us)", column: "region", op: OpIn, not: true, values: []string{"eu", "us"}},
		{in: `region=in.("a,b",c)`, column: "region", op: OpIn, values: []string{"a,b", "c"}},
		{in: `region=in.( eu , "us " ,"")`, column: "region", op: OpIn, values: []string{"eu", "us ", ""}, canon: `region=in.(eu,"us ","")`},
		{in: `region=in.("say \"hi\"","a\\b")`, column: "region", op: OpIn, values: []string{`say "hi"`, `a\b`}, canon: `region=in.("say \"hi\"",a\b)`},
		{in: `region=in.("(x)")`, column: "region", op: OpIn, values: []string{"(x)"}},
		{in: "v=eq.", column: "v", op: OpEq, values: []string{""}},
		{in: "v=eq.a.b=c,d(e)\"", column: "v", op: OpEq, values: []string{"a.b=c,d(e)\""}},
		{in: "v=eq.not.x", column: "v", op: OpEq, values: []string{"not.x"}},
		{in: "total=lte.9.99", column: "total", op: OpLte, values: []string{"9.99"}},
		{in: `"order total"=gt.5`, column: "order total", op: OpGt, values: []string{"5"}},
		{in: `"a\"b=c"=eq.1`, column: `a"b=c`, op: OpEq, values: []string{"1"}},
		{in: `"plain"=eq.1`, column: "plain", op: OpEq, values: []string{"1"}, canon: "plain=eq.1"},
		{in: "$x_1=eq.1", column: "$x_1", op: OpEq, values: []string{"1"}},
		{in: "größe=eq.1", column: "größe", op: OpEq, values: []string{"1"}},
		{in: "Status=eq.1", column: "Status", op: OpEq, values: []string{"1"}},
	}
	for _, tt := range tests {
		c, err := ParseCond(tt.in)
		if err != nil {
			t.Errorf("ParseCond(%q): %v", tt.in, err)
			continue
		}
		if c.Column() != tt.column || c.Operator() != tt.op || c.Negated() != tt.not || !reflect.DeepEqual(c.Values(), tt.values) {
			t.Errorf("ParseCond(%q) = column %q op %v not %v values %q; want %q %v %v %q",
				tt.in, c.Column(), c.Operator(), c.Negated(), c.Values(), tt.column, tt.op, tt.not, tt.values)
		}
		want := tt.in
		if tt.canon != "" {
			want = tt.canon
		}
		if got := c.String(); got != want {
			t.Errorf("ParseCond(%q).String() = %q, want %q", tt.in, got, want)
		}
		again, err := ParseCond(c.String())
		if err != nil || !reflect.DeepEqual(again, c) {
			t.Errorf("round trip of %q via %q: %+v, %v", tt.in, c.String(), again, err)
		}
	}
}

func TestParseCondErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", `filter "": empty filter: want column=operator.value, e.g. status=eq.paid`},
		{"total", `filter "total": missing "=": want column=operator.value`},
		{"=eq.5", `filter "=eq.5": missing column name before "="`},
		{"total=", `filter "total=": missing operator after "total="`},
		{"total=gtx.5", `filter "total=gtx.5": unknown operator "gtx": want one of eq, neq, lt, lte, gt, gte, in, is, like (optionally prefixed by not.)`},
		{"status=paid", `filter "status=paid": missing operator in "paid": want operator.value, e.g. eq.paid`},
		{"total=gt", `filter "total=gt": operator "gt" needs a value: want gt.<value>`},
		{"total=not.gt", `filter "total=not.gt": operator "gt" needs a value`},
		{"total=not.not.gt.1", `unknown operator "not"`},
		{"x=EQ.1", `unknown operator "EQ"`},
		{"x=is", `operator "is" needs a value: want is.null, is.true or is.false`},
		{"x=is.maybe", `unknown value "maybe" for is: want is.null, is.true or is.false`},
		{"x=is.NULL", `unknown value "NULL" for is`},
		{"x=in.eu,us", `in list "eu,us" is not parenthesized: want in.(a,b,...)`},
		{"x=in.(eu,us", `in list "(eu,us" is not parenthesized`},
		{"x=in.()", `in list is empty: want at least one item`},
		{"x=in.( )", `in list is empty`},
		{"x=in.(a,,b)", `in list item 2 is empty: write "" for an empty string`},
		{"x=in.(a,)", `in list item 2 is empty`},
		{"x=in.(a,b))", `in list item 2: unexpected ')': double-quote items that contain , ( ) or "`},
		{`x=in.(a"b")`, `in list item 1: unexpected '"'`},
		{`x=in.("a"b)`, `in list item 1: unexpected 'b' after the closing quote: want "," or the end`},
		{`x=in.("ab)`, `in list item 1: unterminated quoted string: want a closing "`},
		{`x=like.ab\`, `like pattern ends with the escape character \: write \\ for a backslash`},
		{"order total=eq.1", `column name "order total" is not an identifier (letters, digits, _ and $): double-quote it, e.g. "order total"`},
		{"a.b=eq.1", `column name "a.b" is not an identifier`},
		{`"ab=eq.1`, `column name: unterminated quoted string`},
		{`""=eq.1`, `empty column name ""`},
		{`"a"b=eq.1`, `missing "=" after column name "a"`},
		{`"a"`, `missing "=" after column name "a"`},
	}
	for _, tt := range tests {
		_, err := ParseCond(tt.in)
		if err == nil {
			t.Errorf("ParseCond(%q) succeeded, want error containing %q", tt.in, tt.want)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseCond(%q) error:\n  %v\nwant it to contain:\n  %s", tt.in, err, tt.want)
		}
	}
}

func TestZeroCond(t *testing.T) {
	var c Cond
	if c.Match(nil) || c.MatchColumn(col("", 0, `"x"`)) {
		t.Error("the zero Cond matched")
	}
	if c.Operator().String() != "invalid" {
		t.Errorf("zero operator = %q", c.Operator().String())
	}
}
