package enginetest

import (
	"strings"
	"testing"
)

// CheckNoSecret fails t if a command run so far holds secret in its
// arguments or input.
func (f *Agent) CheckNoSecret(t *testing.T, secret string) {
	t.Helper()
	f.Mu.Lock()
	defer f.Mu.Unlock()
	for _, cmd := range f.Cmds {
		if strings.Contains(strings.Join(cmd.Argv, " ")+string(cmd.Stdin), secret) {
			t.Fatalf("host %d ran %s with the secret in its arguments or input", f.HostID, cmd.Argv[0])
		}
	}
}

// CheckNoSecret fails t if a line logged so far holds secret.
func (l *Log) CheckNoSecret(t *testing.T, secret string) {
	t.Helper()
	for _, line := range l.All() {
		if strings.Contains(line, secret) {
			t.Fatalf("a log line holds the secret: %s", line)
		}
	}
}
