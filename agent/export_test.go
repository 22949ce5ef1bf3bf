package agent

import "log/slog"

// SetPolicyRCDForTest points the service hold at path and returns a
// function that restores it.
func SetPolicyRCDForTest(path string) func() {
	old := policyRCD
	policyRCD = path
	return func() { policyRCD = old }
}

// HoldServicesForTest calls holdServices with a discarding logger.
func HoldServicesForTest() func() { return holdServices(slog.New(slog.DiscardHandler)) }
