package service

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/dbplane/dbplane"
	"golang.org/x/crypto/argon2"
)

// assertPasswordRules checks pw against the cluster password rules, so a
// generated password is usable wherever a user's would be.
func assertPasswordRules(t *testing.T, pw string) {
	t.Helper()
	spec := dbplane.ClusterSpec{
		Name: "check", Engine: dbplane.EnginePostgreSQL, Topology: dbplane.TopologyStandalone,
		Flavor: "dbp.c1.m2", VolumeGB: 10, Password: pw,
	}
	if err := dbplane.ValidateClusterSpec(&spec, dbplane.DefaultCatalog()); err != nil {
		t.Errorf("generated password breaks the rules: %v", err)
	}
}

func TestGeneratePassword(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		pw, err := GeneratePassword()
		if err != nil {
			t.Fatal(err)
		}
		if len(pw) != 24 {
			t.Fatalf("len(%q) = %d, want 24", pw, len(pw))
		}
		if strings.ContainsAny(pw, "IlO01 '\"\\$!&|()`") {
			t.Fatalf("%q has a look-alike or shell-special character", pw)
		}
		assertPasswordRules(t, pw)
		if seen[pw] {
			t.Fatalf("%q generated twice", pw)
		}
		seen[pw] = true
	}
}

func TestHashPassword(t *testing.T) {
	h1, err := HashPassword("Secret-pw1")
	if err != nil {
		t.Fatal(err)
	}
	h2, err := HashPassword("Secret-pw1")
	if err != nil {
		t.Fatal(err)
	}
	phc := regexp.MustCompile(`^\$argon2id\$v=19\$m=65536,t=3,p=2\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	if !phc.MatchString(h1) {
		t.Errorf("hash %q is not a PHC argon2id string with the expected parameters", h1)
	}
	if h1 == h2 {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	for _, c := range []struct {
		pw   string
		want bool
	}{{"Secret-pw1", true}, {"Secret-pw2", false}, {"secret-pw1", false}, {"", false}} {
		got, err := VerifyPassword(h1, c.pw)
		if err != nil || got != c.want {
			t.Errorf("VerifyPassword(%q) = %v, %v; want %v", c.pw, got, err, c.want)
		}
	}
}

// VerifyPassword takes the parameters from the hash, so hashes made with
// other (older or newer) parameters keep working. The hash here is built
// with argon2 directly, independently of HashPassword.
func TestVerifyPassword_OtherParameters(t *testing.T) {
	salt := []byte("0123456789abcdef")
	key := argon2.IDKey([]byte("Secret-pw1"), salt, 1, 8192, 1, 24)
	b64 := base64.RawStdEncoding
	hash := fmt.Sprintf("$argon2id$v=19$m=8192,t=1,p=1$%s$%s", b64.EncodeToString(salt), b64.EncodeToString(key))
	if ok, err := VerifyPassword(hash, "Secret-pw1"); err != nil || !ok {
		t.Errorf("VerifyPassword(right) = %v, %v", ok, err)
	}
	if ok, err := VerifyPassword(hash, "Secret-pw2"); err != nil || ok {
		t.Errorf("VerifyPassword(wrong) = %v, %v", ok, err)
	}
}

func TestVerifyPassword_Malformed(t *testing.T) {
	salt := "MDEyMzQ1Njc4OWFiY2RlZg"                     // 16 bytes
	key := "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY" // 32 bytes
	ok := "$argon2id$v=19$m=8192,t=1,p=1$" + salt + "$" + key
	if _, err := VerifyPassword(ok, "x"); err != nil {
		t.Fatalf("the base case must parse: %v", err)
	}
	for _, hash := range []string{
		"",
		"plain",
		"$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
		"$argon2i$v=19$m=8192,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=16$m=8192,t=1,p=1$" + salt + "$" + key,
		"$argon2id$m=8192,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=8192,t=1,p=1$" + salt + "$" + key + "$",
		"x$argon2id$v=19$m=8192,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=0,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=7,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=8192,t=0,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=8192,t=1,p=0$" + salt + "$" + key,
		"$argon2id$v=19$m=8192,t=1,p=256$" + salt + "$" + key,
		"$argon2id$v=19$m=4194304,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=8192,t=100,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=08192,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=+8192,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$t=1,m=8192,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=8192,t=1$" + salt + "$" + key,
		"$argon2id$v=19$m=8192,t=1,p=1,x=2$" + salt + "$" + key,
		"$argon2id$v=19$m=8192,t=1,p=1$$" + key,
		"$argon2id$v=19$m=8192,t=1,p=1$c2FsdA$" + key,
		"$argon2id$v=19$m=8192,t=1,p=1$" + salt + "==$" + key,
		"$argon2id$v=19$m=8192,t=1,p=1$" + salt + "$" + key[:20],
		"$argon2id$v=19$m=8192,t=1,p=1$" + salt + "$" + key + "!",
	} {
		if ok, err := VerifyPassword(hash, "x"); err == nil || ok {
			t.Errorf("VerifyPassword(%q) = %v, %v; want an error", hash, ok, err)
		} else if strings.Contains(err.Error(), salt) || strings.Contains(err.Error(), key[:20]) {
			t.Errorf("error %q echoes the hash", err)
		}
	}
}

// A failed lookup of an unknown user must cost a full verification, or
// timing would reveal which names exist: the dummy hash must be well formed
// and use the parameters of real hashes.
func TestDummyHash(t *testing.T) {
	p, _, err := parseHash(dummyHash())
	if err != nil {
		t.Fatalf("dummy hash is malformed: %v", err)
	}
	real, err := HashPassword("Secret-pw1")
	if err != nil {
		t.Fatal(err)
	}
	want, _, err := parseHash(real)
	if err != nil {
		t.Fatal(err)
	}
	if p.memory != want.memory || p.time != want.time || p.threads != want.threads || p.keyLen != want.keyLen {
		t.Errorf("dummy hash parameters %+v differ from real ones %+v", p, want)
	}
}

func FuzzVerifyPassword(f *testing.F) {
	f.Add("$argon2id$v=19$m=8,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY", "x")
	f.Add("$argon2id$v=19$m=65536,t=3,p=2$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "")
	f.Add("$argon2id$v=19$m=4294967295,t=4294967295,p=255$$", "pw")
	f.Add("$$$$$", "")
	f.Fuzz(func(t *testing.T, hash, pw string) {
		ok, err := VerifyPassword(hash, pw)
		if err != nil && ok {
			t.Fatal("VerifyPassword returned true with an error")
		}
	})
}

func BenchmarkHashPassword(b *testing.B) {
	for b.Loop() {
		if _, err := HashPassword("Secret-pw1"); err != nil {
			b.Fatal(err)
		}
	}
}
