package service

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters of new hashes: RFC 9106's second recommended option
// (64 MiB, 3 passes) with 2 lanes instead of 4, which hashes in 70-100 ms on
// the 2-core reference machine: slow enough to make guessing expensive, fast
// enough for a token request. More lanes than cores measured no faster when
// idle and twice as slow under load. Verification reads the parameters from
// the hash, so changing them later does not invalidate stored hashes.
const (
	argonMemoryKiB = 64 * 1024
	argonTime      = 3
	argonThreads   = 2
	argonSaltLen   = 16
	argonKeyLen    = 32
)

// Bounds on the parameters VerifyPassword accepts, so a corrupted or
// crafted hash cannot make it allocate gigabytes or spin for minutes.
const (
	maxArgonMemoryKiB = 256 * 1024
	maxArgonTime      = 16
	maxArgonThreads   = 16
	minArgonSaltLen   = 8
	maxArgonSaltLen   = 64
	minArgonKeyLen    = 16
	maxArgonKeyLen    = 64
)

// b64 is the PHC string format's base64: standard alphabet, no padding.
var b64 = base64.RawStdEncoding

// HashPassword hashes pw with argon2id and a random salt, in the PHC string
// format: $argon2id$v=19$m=65536,t=3,p=2$<salt>$<key>.
func HashPassword(pw string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("while generating a salt: %w", err)
	}
	p := argonParams{memory: argonMemoryKiB, time: argonTime, threads: argonThreads, salt: salt, keyLen: argonKeyLen}
	return p.format(p.key(pw)), nil
}

// VerifyPassword reports whether pw matches hash. A malformed hash, or one
// whose parameters are out of bounds, is an error rather than a mismatch:
// it means the stored data is broken, which an operator must hear about.
func VerifyPassword(hash, pw string) (bool, error) {
	p, key, err := parseHash(hash)
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(p.key(pw), key) == 1, nil
}

// argonParams are the parameters of one argon2id hash.
type argonParams struct {
	memory  uint32 // KiB
	time    uint32
	threads uint8
	salt    []byte
	keyLen  uint32
}

func (p argonParams) key(pw string) []byte {
	return argon2.IDKey([]byte(pw), p.salt, p.time, p.memory, p.threads, p.keyLen)
}

func (p argonParams) format(key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.memory, p.time, p.threads, b64.EncodeToString(p.salt), b64.EncodeToString(key))
}

// errMalformedHash never includes the hash: it is a credential too.
var errMalformedHash = errors.New("malformed password hash")

// parseHash parses a PHC string written by HashPassword.
func parseHash(hash string) (argonParams, []byte, error) {
	// "", "argon2id", "v=19", "m=…,t=…,p=…", salt, key
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return argonParams{}, nil, fmt.Errorf("%w: not an argon2id PHC string", errMalformedHash)
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return argonParams{}, nil, fmt.Errorf("%w: unsupported version", errMalformedHash)
	}
	var p argonParams
	if err := p.parseCosts(parts[3]); err != nil {
		return argonParams{}, nil, err
	}
	salt, err := b64.Strict().DecodeString(parts[4])
	if err != nil || len(salt) < minArgonSaltLen || len(salt) > maxArgonSaltLen {
		return argonParams{}, nil, fmt.Errorf("%w: bad salt", errMalformedHash)
	}
	key, err := b64.Strict().DecodeString(parts[5])
	if err != nil || len(key) < minArgonKeyLen || len(key) > maxArgonKeyLen {
		return argonParams{}, nil, fmt.Errorf("%w: bad key", errMalformedHash)
	}
	p.salt, p.keyLen = salt, uint32(len(key))
	return p, key, nil
}

// parseCosts parses "m=65536,t=3,p=2", in that order as the format requires.
func (p *argonParams) parseCosts(s string) error {
	fields := strings.Split(s, ",")
	if len(fields) != 3 {
		return fmt.Errorf("%w: bad parameters", errMalformedHash)
	}
	m, errM := costField(fields[0], "m=", maxArgonMemoryKiB)
	t, errT := costField(fields[1], "t=", maxArgonTime)
	th, errP := costField(fields[2], "p=", maxArgonThreads)
	if err := errors.Join(errM, errT, errP); err != nil {
		return err
	}
	// argon2 needs 8 KiB per lane; less is a hash no correct writer made.
	if m < 8*th {
		return fmt.Errorf("%w: memory below 8 KiB per lane", errMalformedHash)
	}
	p.memory, p.time, p.threads = uint32(m), uint32(t), uint8(th)
	return nil
}

// costField parses one "k=v" field with 1 ≤ v ≤ maxValue.
func costField(field, prefix string, maxValue uint64) (uint64, error) {
	v, ok := strings.CutPrefix(field, prefix)
	if !ok {
		return 0, fmt.Errorf("%w: expected %s…", errMalformedHash, prefix)
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil || n < 1 || n > maxValue || v != strconv.FormatUint(n, 10) {
		return 0, fmt.Errorf("%w: %s out of range", errMalformedHash, strings.TrimSuffix(prefix, "="))
	}
	return n, nil
}
