package live

import (
	"strings"
	"testing"
	"time"
)

// FuzzParseMicrosUTC checks the allocation-free parser against
// time.Parse: whatever it accepts, time.Parse reads as the same instant.
func FuzzParseMicrosUTC(f *testing.F) {
	for _, s := range []string{"2026-11-23T10:00:00.123456Z", "1970-01-01T00:00:00.000000Z", "2000-02-29T23:59:59.999999Z",
		"2001-02-29T00:00:00.000000Z", "2026-04-31T00:00:00.000000Z", "0000-01-01T00:00:00.000000Z", "2026-11-23T10:00:60.000000Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseMicrosUTC([]byte(s))
		if !ok {
			return
		}
		want, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatalf("parseMicrosUTC(%q) = %d, time.Parse rejects it: %v", s, got, err)
		}
		if got != want.UnixMicro() {
			t.Fatalf("parseMicrosUTC(%q) = %d, time.Parse %d", s, got, want.UnixMicro())
		}
	})
}

func TestParseMicrosUTC(t *testing.T) {
	for _, s := range []string{"2026-11-23T10:00:00.123456Z", "1970-01-01T00:00:00.000000Z", "2000-02-29T23:59:59.999999Z",
		"1999-12-31T23:59:59.000001Z", "2100-03-01T00:00:00.500000Z", "2000-02-29T00:00:00.000000Z"} {
		want, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := parseMicrosUTC([]byte(s))
		if !ok || got != want.UnixMicro() {
			t.Errorf("parseMicrosUTC(%s) = %d %v, want %d", s, got, ok, want.UnixMicro())
		}
	}
	for _, s := range []string{"2026-11-23T10:00:00.123456+01:00", "2026-11-23T10:00:00Z", "2026-13-23T10:00:00.123456Z", "2026-11-23T10:00:0x.123456Z",
		"2026-02-30T10:00:00.123456Z", "2026-11-23T10:00:60.123456Z"} {
		if _, ok := parseMicrosUTC([]byte(s)); ok {
			t.Errorf("parseMicrosUTC(%s) accepted a layout it does not handle", s)
		}
	}
	us, err := commitTimeOf([]byte(`{"id":"x","commit_time":"2026-11-23T10:00:00.5+01:00","key":{}}`))
	if want := time.Date(2026, 11, 23, 9, 0, 0, 5e8, time.UTC).UnixMicro(); err != nil || us != want {
		t.Errorf("commitTimeOf fallback = %d, %v; want %d", us, err, want)
	}
	if _, err := commitTimeOf([]byte(`{"id":"x"}`)); err == nil || !strings.Contains(err.Error(), "commit_time") {
		t.Errorf("commitTimeOf without the field: %v, want an error naming commit_time", err)
	}
}
