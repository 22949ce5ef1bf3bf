package dbplane

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// PasswordSpecials are the special characters a cluster password may
// contain. The set leaves out quotes, backslashes, spaces and the characters
// that engines' configuration files or connection strings treat specially,
// so a password never needs escaping on its way to the engine.
const PasswordSpecials = "~!@#$%^*-_=+?,()&|."

// Limits of a cluster spec.
const (
	minVolumeGB      = 10
	maxVolumeGB      = 10000
	maxReplicaNodes  = 9 // a primary and 8 replicas
	maxGaleraNodes   = 9
	minRedisShards   = 3 // redis cluster needs a majority of 3 primaries
	maxRedisShards   = 64
	maxShardReplicas = 5
	maxZones         = 64
	maxParameters    = 256
	maxAllowlist     = 256
	maxLabels        = 64
)

// ValidateClusterSpec checks spec against dbplane's rules and the catalog,
// and returns nil or a KindInvalid error whose fields name every violation by
// its JSON field name, so a client can fix all of them in one round trip.
//
// It also normalises spec, even when it returns an error: an empty version
// becomes the engine's default, an empty replication mode of a replication
// cluster becomes async, and the node count of a standalone or redis-cluster
// spec is filled in when left out. Messages never contain the password.
func ValidateClusterSpec(spec *ClusterSpec, cat Catalog) error {
	if spec == nil {
		return Invalid(FieldError{Field: "spec", Message: "required"})
	}
	var v violations
	v.addAll("name", nameProblems(spec.Name))
	v.addAll("password", passwordProblems(spec.Password))
	validateEngine(&v, spec, cat)
	validateNodes(&v, spec)
	validateReplicationMode(&v, spec)
	validatePersistence(&v, spec)
	validateFlavor(&v, spec.Flavor, cat)
	validateVolume(&v, spec.VolumeGB)
	validateZones(&v, spec)
	validateHosts(&v, spec)
	validateParameters(&v, spec.Parameters)
	validateAllowlist(&v, spec.Allowlist)
	validateLabels(&v, spec.Labels)
	if len(v) > 0 {
		return Invalid(v...)
	}
	return nil
}

// validatePersistence checks the Redis persistence mode and fills in the
// default, rdb.
func validatePersistence(v *violations, spec *ClusterSpec) {
	switch {
	case spec.Engine != EngineRedis && spec.Persistence != "":
		v.add("persistence", "applies to redis only")
	case spec.Engine != EngineRedis:
	case spec.Persistence == "":
		spec.Persistence = "rdb"
	case spec.Persistence != "rdb" && spec.Persistence != "aof":
		v.add("persistence", "must be rdb or aof, not %q", spec.Persistence)
	}
}

// violations collects field errors in the order of the spec's fields.
type violations []FieldError

func (v *violations) add(field, format string, args ...any) {
	*v = append(*v, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// addAll reports all problems of one field as one field error, so each field
// is named once.
func (v *violations) addAll(field string, problems []string) {
	if len(problems) > 0 {
		v.add(field, "%s", strings.Join(problems, "; "))
	}
}

func nameProblems(name string) []string {
	if name == "" {
		return []string{"required"}
	}
	var p []string
	if !isLetter(rune(name[0])) {
		p = append(p, "must start with a letter")
	}
	if n := utf8.RuneCountInString(name); n < 4 || n > 64 {
		p = append(p, fmt.Sprintf("must be 4 to 64 characters long, not %d", n))
	}
	if !isIdentifier(name) {
		p = append(p, "may contain only letters, digits, '-' and '_'")
	}
	// The CA names the control plane and agents "dbplane-…"; a node's
	// certificate, named after its cluster, must never look like theirs.
	if strings.HasPrefix(strings.ToLower(name), "dbplane-") {
		p = append(p, `must not start with "dbplane-", which dbplane keeps for its own certificates`)
	}
	return p
}

// passwordProblems never quotes the password nor tells its length: the
// messages end up in logs and API responses.
func passwordProblems(pw string) []string {
	if pw == "" {
		return []string{"required"}
	}
	var p []string
	if n := utf8.RuneCountInString(pw); n < 8 || n > 32 {
		p = append(p, "must be 8 to 32 characters long")
	}
	var upper, lower, digit, special, other bool
	for _, r := range pw {
		switch {
		case 'A' <= r && r <= 'Z':
			upper = true
		case 'a' <= r && r <= 'z':
			lower = true
		case '0' <= r && r <= '9':
			digit = true
		case strings.ContainsRune(PasswordSpecials, r):
			special = true
		default:
			other = true
		}
	}
	if other {
		p = append(p, "may contain only letters, digits and the specials "+PasswordSpecials)
	}
	if classes := count(upper, lower, digit, special); classes < 3 {
		p = append(p, "must contain at least three of: upper-case letters, lower-case letters, digits, specials ("+PasswordSpecials+")")
	}
	return p
}

// validateEngine checks engine, version and topology, filling the default
// version.
func validateEngine(v *violations, spec *ClusterSpec, cat Catalog) {
	engines := strings.Join(cat.EngineNames(), ", ")
	var ev EngineVersion
	known := false
	switch {
	case spec.Engine == "":
		v.add("engine", "required; one of %s", engines)
	case !cat.hasEngine(spec.Engine):
		v.add("engine", "unknown engine %s; one of %s", quote(spec.Engine), engines)
	default:
		ev, known = cat.Version(spec.Engine, spec.Version)
		available := strings.Join(cat.Versions(spec.Engine), ", ")
		switch {
		case known:
			spec.Version = ev.Version
		case spec.Version == "":
			v.add("version", "required: %s has no default version; available: %s", spec.Engine, available)
		default:
			v.add("version", "%s %s is not available; available versions: %s", spec.Engine, quote(spec.Version), available)
		}
	}

	all := []string{TopologyStandalone, TopologyReplication, TopologyGalera, TopologyRedisCluster}
	supported := all
	if known {
		supported = ev.Topologies
	}
	switch {
	case spec.Topology == "":
		v.add("topology", "required; one of %s", strings.Join(supported, ", "))
	case !slices.Contains(all, spec.Topology):
		v.add("topology", "unknown topology %s; one of %s", quote(spec.Topology), strings.Join(supported, ", "))
	case known && !slices.Contains(ev.Topologies, spec.Topology):
		v.add("topology", "%s %s does not support %s; supported: %s", ev.Engine, ev.Version, spec.Topology, strings.Join(supported, ", "))
	}
}

// validateNodes checks the node count of the topology. It runs whenever the
// topology is a known one, even if the engine does not support it, so all
// mistakes are reported at once.
func validateNodes(v *violations, spec *ClusterSpec) {
	n := spec.Nodes
	switch spec.Topology {
	case TopologyStandalone:
		if n == 0 {
			spec.Nodes = 1
		} else if n != 1 {
			v.add("nodes", "a standalone cluster has exactly 1 node")
		}
	case TopologyReplication:
		if n < 2 || n > maxReplicaNodes {
			v.add("nodes", "replication needs 2 to %d nodes: a primary and 1 to %d replicas", maxReplicaNodes, maxReplicaNodes-1)
		}
	case TopologyGalera:
		if n < 3 || n > maxGaleraNodes || n%2 == 0 {
			v.add("nodes", "galera needs an odd number of nodes from 3 to %d: it keeps accepting writes only on the side of a network split that holds a majority (quorum), and an even count can split into two halves with none", maxGaleraNodes)
		}
	case TopologyRedisCluster:
		validateRedisCluster(v, spec)
		return
	default:
		return // unknown topology: reported already, counts cannot be judged
	}
	if spec.Shards != 0 {
		v.add("shards", "only allowed for the redis-cluster topology")
	}
	if spec.ReplicasPerShard != 0 {
		v.add("replicas_per_shard", "only allowed for the redis-cluster topology")
	}
}

func validateRedisCluster(v *violations, spec *ClusterSpec) {
	ok := true
	if spec.Shards < minRedisShards || spec.Shards > maxRedisShards {
		v.add("shards", "a redis cluster needs %d to %d shards", minRedisShards, maxRedisShards)
		ok = false
	}
	if spec.ReplicasPerShard < 0 || spec.ReplicasPerShard > maxShardReplicas {
		v.add("replicas_per_shard", "must be 0 to %d", maxShardReplicas)
		ok = false
	}
	if !ok {
		if spec.Nodes < 0 {
			v.add("nodes", "must not be negative")
		}
		return
	}
	want := spec.Shards * (1 + spec.ReplicasPerShard)
	switch spec.Nodes {
	case 0:
		spec.Nodes = want
	case want:
	default:
		v.add("nodes", "must be left out or be %d: shards x (1 + replicas_per_shard)", want)
	}
}

func validateReplicationMode(v *violations, spec *ClusterSpec) {
	mode := spec.ReplicationMode
	if spec.Topology != TopologyReplication {
		known := slices.Contains([]string{TopologyStandalone, TopologyGalera, TopologyRedisCluster}, spec.Topology)
		if mode != "" && known {
			v.add("replication_mode", "only allowed for the replication topology")
		}
		return
	}
	switch mode {
	case "":
		spec.ReplicationMode = ReplicationAsync
	case ReplicationAsync:
	case ReplicationSync, ReplicationQuorum:
		if spec.Engine == EngineRedis {
			v.add("replication_mode", "redis replicates asynchronously only; use async")
		} else if mode == ReplicationQuorum && spec.Nodes < 3 {
			v.add("replication_mode", "quorum needs at least 3 nodes, a primary and 2 replicas; use sync with 1 replica")
		}
	default:
		v.add("replication_mode", "unknown mode %s; one of async, sync, quorum", quote(mode))
	}
}

func validateFlavor(v *violations, code string, cat Catalog) {
	if code == "" {
		v.add("flavor", "required; valid flavors include %s", cat.flavorSample(4))
	} else if _, ok := cat.Flavor(code); !ok {
		v.add("flavor", "unknown flavor %s; valid flavors include %s", quote(code), cat.flavorSample(4))
	}
}

func validateVolume(v *violations, gb int) {
	if gb < minVolumeGB || gb > maxVolumeGB || gb%10 != 0 {
		v.add("volume_gb", "must be a multiple of 10 from %d to %d", minVolumeGB, maxVolumeGB)
	}
}

func validateZones(v *violations, spec *ClusterSpec) {
	zones := spec.Zones
	if len(zones) > maxZones {
		v.add("zones", "at most %d zones", maxZones)
	} else {
		seen := make(map[string]int, len(zones))
		for i, z := range zones {
			field := fmt.Sprintf("zones[%d]", i)
			if j, dup := seen[z]; dup {
				v.add(field, "duplicates zones[%d]", j)
				continue
			}
			seen[z] = i
			if n := utf8.RuneCountInString(z); n < 1 || n > 64 || !isIdentifier(z) {
				v.add(field, "a zone name is 1 to 64 characters of letters, digits, '-' and '_'")
			}
		}
		// A zone without a node is a mistake of intent for every topology,
		// and for galera it would hide that nodes are not spread as asked.
		if len(zones) > 0 && spec.Nodes > 0 && len(zones) > spec.Nodes {
			v.add("zones", "%d zones for %d nodes: every zone must hold at least one node", len(zones), spec.Nodes)
		}
	}
	if pz := spec.PrimaryZone; pz != "" && !slices.Contains(zones, pz) {
		v.add("primary_zone", "must be one of zones")
	}
}

// validateHosts checks pinned hosts: one distinct host id per node.
func validateHosts(v *violations, spec *ClusterSpec) {
	if len(spec.Hosts) == 0 {
		return
	}
	if n := spec.NodeCount(); len(spec.Hosts) != n {
		v.add("hosts", "lists %d hosts for %d nodes: a cluster has one node on each listed host", len(spec.Hosts), n)
	}
	seen := make(map[int64]int, len(spec.Hosts))
	for i, id := range spec.Hosts {
		field := fmt.Sprintf("hosts[%d]", i)
		if j, dup := seen[id]; dup {
			v.add(field, "duplicates hosts[%d]: a cluster has one node per host", j)
		} else if id <= 0 {
			v.add(field, "must be a host id")
		}
		seen[id] = i
	}
}

func validateParameters(v *violations, params map[string]string) {
	if len(params) > maxParameters {
		v.add("parameters", "at most %d parameters", maxParameters)
		return
	}
	for _, k := range slices.Sorted(maps.Keys(params)) {
		field := "parameters[" + displayKey(k) + "]"
		if !isParameterName(k) {
			v.add(field, "a parameter name is 1 to 64 characters of a-z, 0-9, '_' and '.'")
		} else if utf8.RuneCountInString(params[k]) > 1024 {
			v.add(field, "a value is at most 1024 characters")
		}
	}
}

func validateAllowlist(v *violations, list []string) {
	if len(list) > maxAllowlist {
		v.add("allowlist", "at most %d entries", maxAllowlist)
		return
	}
	for i, s := range list {
		field := fmt.Sprintf("allowlist[%d]", i)
		if strings.Contains(s, "/") {
			p, err := netip.ParsePrefix(s)
			switch {
			case err != nil:
				v.add(field, "must be an IP address or a CIDR prefix such as 10.0.0.0/8")
			case p != p.Masked():
				v.add(field, "%s has host bits set; did you mean %s?", p, p.Masked())
			}
			continue
		}
		if a, err := netip.ParseAddr(s); err != nil || a.Zone() != "" {
			v.add(field, "must be an IP address or a CIDR prefix such as 10.0.0.0/8")
		}
	}
}

func validateLabels(v *violations, labels map[string]string) {
	if len(labels) > maxLabels {
		v.add("labels", "at most %d labels", maxLabels)
		return
	}
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		field := "labels[" + displayKey(k) + "]"
		if n := utf8.RuneCountInString(k); n < 1 || n > 63 {
			v.add(field, "a label key is 1 to 63 characters")
		} else if utf8.RuneCountInString(labels[k]) > 63 {
			v.add(field, "a label value is at most 63 characters")
		}
	}
}

func isLetter(r rune) bool { return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' }

// isIdentifier reports whether s has only letters, digits, '-' and '_'.
func isIdentifier(s string) bool {
	for _, r := range s {
		if !isLetter(r) && !('0' <= r && r <= '9') && r != '-' && r != '_' {
			return false
		}
	}
	return true
}

func isParameterName(s string) bool {
	if len(s) < 1 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !('a' <= r && r <= 'z') && !('0' <= r && r <= '9') && r != '_' && r != '.' {
			return false
		}
	}
	return true
}

func count(bs ...bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

// clip shortens s to at most 64 bytes on a rune boundary, so echoing user
// input cannot blow up a message.
func clip(s string) string {
	if len(s) <= 64 {
		return s
	}
	i := 64
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

// quote echoes a user-supplied value in a message.
func quote(s string) string { return strconv.Quote(clip(s)) }

// displayKey renders a map key inside a field name: plain when it is
// printable ASCII, quoted otherwise so control characters stay visible.
func displayKey(k string) string {
	for _, r := range k {
		if r < 0x20 || r > 0x7e || r == ']' {
			return strconv.QuoteToASCII(clip(k))
		}
	}
	return clip(k)
}
