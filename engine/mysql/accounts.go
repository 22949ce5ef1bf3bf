package mysql

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
)

// Accounts dbplane creates in every cluster.
const (
	// AdminUser is the cluster's administrator, with the spec's password.
	AdminUser = "admin"
	// replicationUserPrefix names the account each replica replicates
	// as: dbplane_repl1, dbplane_repl2, …
	replicationUserPrefix = "dbplane_repl"
	// sstUser is the account mariadb-backup uses on a galera donor.
	sstUser = "dbplane_sst"
)

// adminRevoked are the privileges the admin account lacks although it has
// all the others:
//
//   - SUPER and READ_ONLY ADMIN: so that read_only binds it on replicas;
//   - FILE: every cluster on a host runs as the same mysql OS account, so
//     reading and writing host files would reach other clusters.
const adminRevoked = "SUPER, READ_ONLY ADMIN, FILE"

// nativeHash returns the mysql_native_password hash of a password, as
// PASSWORD() computes it: MariaDB is given the hash, never the password,
// so the password reaches neither a host, nor the binary log that
// replicates the account, nor a server log.
func nativeHash(password string) string {
	h1 := sha1.Sum([]byte(password))
	h2 := sha1.Sum(h1[:])
	return "*" + strings.ToUpper(hex.EncodeToString(h2[:]))
}

// replicationUser is the account replica n replicates as.
func replicationUser(n node) string { return replicationUserPrefix + strconv.Itoa(n.Ordinal) }

// adminHosts returns the host parts of the admin accounts: one account per
// network of the allowlist or, without one, per loopback network and host
// of the cluster, so that a cluster is closed to the network until its
// owner opens it (as for PostgreSQL).
func adminHosts(c *dbplane.Cluster) ([]string, error) {
	var prefixes []netip.Prefix
	if len(c.Spec.Allowlist) == 0 {
		prefixes = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
		for _, n := range enginekit.SortedNodes(c) {
			p, err := nodeSource(n)
			if err != nil {
				return nil, err
			}
			prefixes = append(prefixes, p)
		}
	}
	listed, err := enginekit.Allowlist(c)
	if err != nil {
		return nil, err
	}
	prefixes = append(prefixes, listed...)
	var hosts []string
	for _, p := range prefixes {
		h, err := accountHost(p)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(hosts, h) {
			hosts = append(hosts, h)
		}
	}
	return hosts, nil
}

// nodeSource returns the network a node's connections come from. A
// connection between two loopback addresses leaves from 127.0.0.1 whatever
// address the node listens on, so a loopback node stands for its whole
// loopback network.
func nodeSource(n dbplane.Node) (netip.Prefix, error) {
	a, err := netip.ParseAddr(n.Address)
	if err != nil {
		return netip.Prefix{}, dbplane.Permanent(fmt.Errorf("node %d has address %q, not an IP address: %w", n.Ordinal, n.Address, err))
	}
	a = a.Unmap()
	if a.Is4() && a.IsLoopback() {
		return netip.MustParsePrefix("127.0.0.0/8"), nil
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// accountHost renders a network as the host part of a MariaDB account:
// an address, or an IPv4 network as address/netmask. MariaDB has no
// notation for IPv6 networks, only single IPv6 addresses.
func accountHost(p netip.Prefix) (string, error) {
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	p = p.Masked()
	a := p.Addr()
	switch {
	case p.Bits() == a.BitLen():
		return a.String(), nil
	case a.Is4():
		return a.String() + "/" + net.IP(net.CIDRMask(p.Bits(), 32)).String(), nil
	}
	return "", dbplane.Permanent(dbplane.Invalid(dbplane.FieldError{Field: "allowlist",
		Message: fmt.Sprintf("%s: MariaDB accounts can name IPv4 networks and single IPv6 addresses, not IPv6 networks", p)}))
}

// adminScript creates or updates the admin account of every host in hosts
// and drops the admin accounts of hosts no longer allowed (stale). It also
// drops the mysql@localhost account mariadb-install-db creates: root, over
// the socket, is the only account without a password. require is the
// accounts' REQUIRE clause (see requireClause).
func adminScript(hash string, hosts, stale []string, require string) string {
	var b strings.Builder
	b.WriteString("DROP USER IF EXISTS 'mysql'@'localhost';\n")
	for _, h := range hosts {
		acct := account(AdminUser, h)
		fmt.Fprintf(&b, "CREATE USER IF NOT EXISTS %s IDENTIFIED BY PASSWORD %s;\n", acct, quoteLiteral(hash))
		fmt.Fprintf(&b, "ALTER USER %s IDENTIFIED BY PASSWORD %s%s;\n", acct, quoteLiteral(hash), prefixSpace(require))
		fmt.Fprintf(&b, "GRANT ALL PRIVILEGES ON *.* TO %s WITH GRANT OPTION;\n", acct)
		fmt.Fprintf(&b, "REVOKE %s ON *.* FROM %s;\n", adminRevoked, acct)
	}
	for _, h := range stale {
		fmt.Fprintf(&b, "DROP USER IF EXISTS %s;\n", account(AdminUser, h))
	}
	return b.String()
}

// accountScript creates or updates an account of a machine with the
// given password hash, privileges and REQUIRE clause (none if empty).
func accountScript(user, host, hash, privileges, require string) string {
	acct := account(user, host)
	return fmt.Sprintf("CREATE USER IF NOT EXISTS %[1]s IDENTIFIED BY PASSWORD %[2]s;\n"+
		"ALTER USER %[1]s IDENTIFIED BY PASSWORD %[2]s%[4]s;\n"+
		"GRANT %[3]s ON *.* TO %[1]s;\n", acct, quoteLiteral(hash), privileges, prefixSpace(require))
}

// prefixSpace returns s after a space, or nothing for an empty s.
func prefixSpace(s string) string {
	if s == "" {
		return ""
	}
	return " " + s
}
