package pki

import (
	"testing"
	"time"
)

// SetKeyFileCheckInterval sets how often keyrings check their key file,
// until the test ends.
func SetKeyFileCheckInterval(t *testing.T, d time.Duration) {
	old := keyFileCheckInterval
	keyFileCheckInterval = d
	t.Cleanup(func() { keyFileCheckInterval = old })
}
