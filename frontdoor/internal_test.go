package frontdoor

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// TestLimiterSetBounded checks that a flood of sources never makes a limit
// hold more than its bound, and that idle sources are forgotten.
func TestLimiterSetBounded(t *testing.T) {
	s := newLimiterSet(Limit{PerSecond: 1, Burst: 3}, 100)
	now := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	for i := range 10000 {
		s.spend(fmt.Sprintf("198.51.%d.%d", i/256, i%256), now)
		if n := s.size(); n > 100 {
			t.Fatalf("%d limiters after %d sources, bound 100", n, i+1)
		}
	}
	// A spent source keeps its limiter until it has refilled.
	s = newLimiterSet(Limit{PerSecond: 1, Burst: 3}, 100)
	for range 3 {
		s.spend("a", now)
	}
	if wait := s.wait("a", now); wait != time.Second {
		t.Fatalf("wait = %v, want 1s", wait)
	}
	s.spend("b", now.Add(2*sweepEvery)) // sweeps: a is full again
	if n := s.size(); n != 1 {
		t.Fatalf("%d limiters after the sweep, want 1 (b)", n)
	}
	if wait := s.wait("never-seen", now); wait != 0 {
		t.Fatalf("wait of an unknown key = %v", wait)
	}
	var off *limiterSet
	if off.allow("x", now) != 0 || off.wait("x", now) != 0 {
		t.Fatal("a nil set limits")
	}
}

func TestRetrySeconds(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Nanosecond: "1", time.Second: "1", time.Second + 1: "2", 90 * time.Second: "90", 0: "1",
	} {
		if got := retrySeconds(d); got != want {
			t.Errorf("retrySeconds(%v) = %s, want %s", d, got, want)
		}
	}
}

// FuzzParseBearer checks that the bearer parser never panics and only
// returns tokens safe to pass on: non-empty, bounded, printable ASCII.
func FuzzParseBearer(f *testing.F) {
	for _, s := range []string{"Bearer dbp_abc", "bearer   x  ", "Bearer", "Bearer ", "BEARER a b", "Bearer \x00", "Basic x", "Bearer é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		tok, ok := parseBearer(h)
		if !ok {
			if tok != "" && validToken(tok) {
				t.Fatalf("refused %q but returned a valid token %q", h, tok)
			}
			return
		}
		if tok == "" || len(tok) > maxCredentialLen || strings.ContainsAny(tok, " \t\r\n") || !strings.Contains(h, tok) {
			t.Fatalf("parseBearer(%q) = %q", h, tok)
		}
		for i := 0; i < len(tok); i++ {
			if tok[i] <= ' ' || tok[i] >= 0x7f {
				t.Fatalf("token %q has byte %#x", tok, tok[i])
			}
		}
	})
}

// FuzzParseBasic checks that the Basic parser never panics, returns only
// printable UTF-8, and round-trips what it accepts.
func FuzzParseBasic(f *testing.F) {
	for _, s := range []string{
		"Basic " + base64.StdEncoding.EncodeToString([]byte("alice:pw")),
		"basic " + base64.StdEncoding.EncodeToString([]byte("alice:")),
		"Basic " + base64.StdEncoding.EncodeToString([]byte(":pw")),
		"Basic " + base64.StdEncoding.EncodeToString([]byte("a:b:c")),
		"Basic " + base64.StdEncoding.EncodeToString([]byte("al\x00ice:pw")),
		"Basic " + base64.StdEncoding.EncodeToString([]byte("\xff:pw")),
		"Basic !!!", "Basic", "Basic ", "Bearer x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		user, pw, ok := parseBasic(h)
		if !ok {
			if user != "" || pw != "" {
				t.Fatalf("refused %q but returned %q %q", h, user, pw)
			}
			return
		}
		if user == "" || strings.Contains(user, ":") || !utf8.ValidString(user) || !utf8.ValidString(pw) {
			t.Fatalf("parseBasic(%q) = %q, %q", h, user, pw)
		}
		enc := base64.StdEncoding.EncodeToString([]byte(user + ":" + pw))
		if u2, p2, ok := parseBasic("Basic " + enc); !ok || u2 != user || p2 != pw {
			t.Fatalf("no round trip of %q %q", user, pw)
		}
	})
}

// TestLimitKey checks how client addresses map to per-source limit keys.
func TestLimitKey(t *testing.T) {
	for src, want := range map[string]string{
		"192.0.2.1":            "192.0.2.1",
		"::ffff:192.0.2.1":     "192.0.2.1",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64",
		"2001:db8:1:2::":       "2001:db8:1:2::/64",
		"fe80::1%eth0":         "fe80::/64",
		"::1":                  "::/64",
		"@":                    "@",
		"":                     "",
	} {
		if got := limitKey(src); got != want {
			t.Errorf("limitKey(%q) = %q, want %q", src, got, want)
		}
	}
}
