package rowjson

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/pgcdc/pgcdc/pipeline"
	"github.com/pgcdc/pgcdc/source"
)

// FuzzScan holds the scanner to encoding/json: it accepts exactly what
// json.Valid accepts, and an object's members are what encoding/json
// decodes.
func FuzzScan(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1,"b":[1,2,{"c":null}],"d":"x\"y"}`, `[1,-0.5e+3,true,false,null]`, `"\u00e9"`, `{"a":}`, `01`, `1.`, `{"a" 1}`, "\"\x01\"", `[1,]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, end, err := scanValue(b, 0)
		ok := err == nil && skipSpace(b, end) == len(b)
		if ok != json.Valid(b) {
			t.Fatalf("scanValue accepts %q: %v, json.Valid: %v (err %v)", b, ok, json.Valid(b), err)
		}
		if !ok || bytes.TrimSpace(b)[0] != '{' {
			return
		}
		var want map[string]json.RawMessage
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		got := map[string][]byte{}
		if err := eachMember(b, func(k, v []byte) error {
			name, err := unquote(k)
			if err != nil {
				return err
			}
			got[string(name)] = v // the last of duplicate keys wins, as in encoding/json
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("%q: %d members, encoding/json %d", b, len(got), len(want))
		}
		for k, v := range want {
			if !bytes.Equal(bytes.TrimSpace(v), got[k]) {
				t.Fatalf("%q: member %q is %q, encoding/json %q", b, k, got[k], v)
			}
		}
	})
}

// FuzzArrayText holds the JSON-array-to-literal conversion to the
// replication source's array parser: a text[] written by row_to_json and
// turned back into a literal must convert to the JSON the elements
// started as.
func FuzzArrayText(f *testing.F) {
	f.Add("a b", `c"d`, "NULL", "", `x\y`, "{}", true)
	f.Add("é", "a,b", " lead", "trail ", "\t", ")(", false)
	codecs := source.NewCodecs(nil)
	textArray, err := codecs.Get(context.Background(), 1009) // text[]
	if err != nil {
		f.Fatal(err)
	}
	arr := &form{kind: formArray, elem: plainForm, delim: ','}
	f.Fuzz(func(t *testing.T, a, b, c, d, e, g string, withNull bool) {
		elems := []*string{&a, &b, &c, &d, &e, &g}
		if withNull {
			elems[2] = nil
		}
		raw, _ := json.Marshal(elems)
		lit, err := arr.appendText(nil, raw)
		if err != nil {
			t.Fatal(err)
		}
		want := []byte{'['}
		for i, s := range elems {
			if i > 0 {
				want = append(want, ',')
			}
			if s == nil {
				want = append(want, "null"...)
				continue
			}
			var decoded string
			_ = json.Unmarshal(must(json.Marshal(*s)), &decoded)
			want = pipeline.AppendJSONString(want, decoded)
		}
		want = append(want, ']')
		if got := textArray.AppendJSON(nil, lit); !bytes.Equal(got, want) {
			t.Fatalf("elements %s: literal %q converts to %s, want %s", raw, lit, got, want)
		}
	})
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func TestAppendStamp(t *testing.T) {
	for _, c := range []struct {
		in   string
		tz   bool
		want string
	}{
		{"2026-11-23T10:00:00.5", false, "2026-11-23 10:00:00.5"},
		{"10000-01-01T10:00:00", false, "10000-01-01 10:00:00"},
		{"0044-03-15T10:00:00 BC", false, "0044-03-15 10:00:00 BC"},
		{"infinity", false, "infinity"},
		{"2026-11-23T08:00:00.123456+00:00", true, "2026-11-23 08:00:00.123456+00"},
		{"0044-03-15T10:00:00+00:00 BC", true, "0044-03-15 10:00:00+00 BC"},
		{"2026-11-23T10:00:00+05:30", true, "2026-11-23 04:30:00+00"},
		{"2026-01-01T00:30:00-01:00", true, "2026-01-01 01:30:00+00"},
		{"2026-01-01T00:00:00+00:00:10", true, "2025-12-31 23:59:50+00"},
		{"0044-03-15T10:00:00+05:30 BC", true, "0044-03-15 10:00:00+05:30 BC"},
		{"-infinity", true, "-infinity"},
	} {
		if got := string(appendStamp(nil, []byte(c.in), c.tz)); got != c.want {
			t.Errorf("appendStamp(%q, %v) = %q, want %q", c.in, c.tz, got, c.want)
		}
	}
}

func TestLookup(t *testing.T) {
	obj := []byte(`{"a":{"b":{"c":"x"}},"n":1,"s":"t"}`)
	for _, c := range []struct {
		path, want string
		ok         bool
	}{{"a.b.c", `"x"`, true}, {"n", "1", true}, {"a.x", "", false}, {"n.x", "", false}, {"s", `"t"`, true}} {
		got, ok, err := Lookup(obj, c.path)
		if err != nil || ok != c.ok || string(got) != c.want {
			t.Errorf("Lookup(%q) = %s, %v, %v; want %s, %v", c.path, got, ok, err, c.want, c.ok)
		}
	}
	if _, _, err := Lookup([]byte(`{"a":`), "a"); err == nil {
		t.Error("Lookup of invalid JSON: no error")
	}
}
