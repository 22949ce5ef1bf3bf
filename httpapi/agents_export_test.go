package httpapi

import "github.com/dbplane/dbplane"

// The host and join schemas are checked against their Go types like the
// others.
func init() {
	WireTypes["JoinTokenRequest"] = joinTokenRequest{}
	WireTypes["JoinToken"] = dbplane.JoinToken{}
	WireTypes["JoinRequest"] = dbplane.JoinRequest{}
	WireTypes["JoinResponse"] = dbplane.JoinResponse{}
	WireTypes["HostFacts"] = dbplane.HostFacts{}
}
