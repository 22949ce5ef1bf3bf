package postgres

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"

	"github.com/dbplane/dbplane"
)

// scramIterations is PostgreSQL's default iteration count
// (scram_iterations).
const scramIterations = 4096

// scramVerifier returns the SCRAM-SHA-256 verifier of a password in the form
// pg_authid stores, as psql's \password computes it: PostgreSQL is given the
// verifier, never the password, so the password cannot leak from the server
// (its log, pg_stat_activity, an error's statement) even by mistake.
//
// Clients hash the password after SASLprep, which leaves ASCII unchanged;
// dbplane's password rules allow only ASCII, and a password outside them is
// refused rather than hashed into a verifier no client would match.
func scramVerifier(password string) (string, error) {
	for i := 0; i < len(password); i++ {
		if password[i] < 0x20 || password[i] > 0x7e {
			return "", dbplane.Permanent(dbplane.Errorf(dbplane.KindInvalid, "a password may hold only printable ASCII characters"))
		}
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("while drawing a salt: %w", err)
	}
	salted, err := pbkdf2.Key(sha256.New, password, salt, scramIterations, sha256.Size)
	if err != nil {
		return "", fmt.Errorf("while hashing a password: %w", err)
	}
	clientKey := hmacSHA256(salted, "Client Key")
	storedKey := sha256.Sum256(clientKey)
	serverKey := hmacSHA256(salted, "Server Key")
	b64 := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("SCRAM-SHA-256$%d:%s$%s:%s", scramIterations, b64(salt), b64(storedKey[:]), b64(serverKey)), nil
}

func hmacSHA256(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}
