package httpapi

// The answer of a password change is checked against its Go type like the
// other envelopes.
func init() {
	WireTypes["PasswordChange"] = PasswordChange{}
}
