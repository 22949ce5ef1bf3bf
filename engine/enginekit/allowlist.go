package enginekit

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/dbplane/dbplane"
)

// Allowlist parses the spec's allowlist: the networks clients may connect
// from, each a CIDR prefix or one address. An entry that is neither fails
// the step for good, naming the field as the API does.
func Allowlist(c *dbplane.Cluster) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(c.Spec.Allowlist))
	for _, s := range c.Spec.Allowlist {
		p, err := parsePrefix(s)
		if err != nil {
			return nil, dbplane.Permanent(dbplane.Invalid(dbplane.FieldError{Field: "allowlist", Message: err.Error()}))
		}
		out = append(out, p)
	}
	return out, nil
}

// parsePrefix parses an allowlist entry: a CIDR prefix or one address.
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not a CIDR prefix", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("%q is not an IP address", s)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}
