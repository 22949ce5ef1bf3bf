package mysql

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
	"github.com/dbplane/dbplane/taskengine"
)

// setPassword sets the task's new password on every admin account of the
// node (the primary), as a mysql_native_password hash: the password
// reaches neither the host nor the binary log. Both are registered with
// the task engine's redaction, so neither shows in a log. Running it again
// sets the same hash.
func (e *Engine) setPassword(ctx context.Context, s *step) error {
	pw, err := s.NewPassword(ctx)
	if err != nil {
		return err
	}
	hash := nativeHash(pw)
	taskengine.Redact(ctx, hash)
	a, err := s.Agent(ctx, s.n.Node)
	if err != nil {
		return err
	}
	hosts, err := s.adminAccountHosts(ctx, a, s.n)
	if err != nil {
		return err
	}
	if len(hosts) == 0 {
		return dbplane.Permanent(fmt.Errorf("node %d has no %s account", s.n.Ordinal, AdminUser))
	}
	var b strings.Builder
	for _, h := range hosts {
		fmt.Fprintf(&b, "ALTER USER %s IDENTIFIED BY PASSWORD %s;\n", account(AdminUser, h), quoteLiteral(hash))
	}
	if _, err := s.sql(ctx, a, s.n, b.String(), pw, hash); err != nil {
		return fmt.Errorf("while setting the admin password: %w", err)
	}
	s.Logf("set the new password of %s@%s on node %d", AdminUser, strings.Join(hosts, ", "), s.n.Ordinal)
	return nil
}

// verifyPassword waits until every admin account of the node has the new
// password's hash, which replication or galera carries from the primary.
func (e *Engine) verifyPassword(ctx context.Context, s *step) error {
	pw, err := s.NewPassword(ctx)
	if err != nil {
		return err
	}
	hash := nativeHash(pw)
	taskengine.Redact(ctx, hash)
	a, err := s.Agent(ctx, s.n.Node)
	if err != nil {
		return err
	}
	query := fmt.Sprintf("SELECT Host, authentication_string FROM mysql.user WHERE User = %s;\n", quoteLiteral(AdminUser))
	return poll(ctx, enginekit.StartTimeout, func(ctx context.Context) (bool, string) {
		out, err := s.sql(ctx, a, s.n, query)
		if err != nil {
			return false, err.Error()
		}
		rs := rows(out)
		if len(rs) == 0 {
			return false, "no " + AdminUser + " account yet"
		}
		for _, r := range rs {
			if r["authentication_string"] != hash {
				return false, fmt.Sprintf("%s@%s has the old password", AdminUser, r["Host"])
			}
		}
		s.Logf("the %d %s accounts of node %d have the new password", len(rs), AdminUser, s.n.Ordinal)
		return true, ""
	}, func(last string) error {
		return fmt.Errorf("node %d did not receive the new password within %s: %s", s.n.Ordinal, enginekit.StartTimeout, last)
	})
}

// adminAccountHosts lists the host parts of the node's admin accounts.
func (s *step) adminAccountHosts(ctx context.Context, a dbplane.HostAgent, n node) ([]string, error) {
	out, err := s.sql(ctx, a, n, fmt.Sprintf("SELECT Host FROM mysql.user WHERE User = %s ORDER BY Host;\n", quoteLiteral(AdminUser)))
	if err != nil {
		return nil, fmt.Errorf("while listing the admin accounts: %w", err)
	}
	var hosts []string
	for _, r := range rows(out) {
		hosts = append(hosts, r["Host"])
	}
	return hosts, nil
}

// variableName matches the system variables a change may name in SQL.
var variableName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// variableOf returns the system variable a parameter sets: lower case,
// '-' as '_', without "loose_".
func variableOf(k string) string {
	name := strings.ReplaceAll(strings.ToLower(k), "-", "_")
	for strings.HasPrefix(name, "loose_") {
		name = strings.TrimPrefix(name, "loose_")
	}
	return name
}

// variables returns, for each parameter of the change that names a system
// variable of the node's server, whether it is read-only (changes only
// with a restart); those that name none are left out.
func (s *step) variables(ctx context.Context, a dbplane.HostAgent, n node) (map[string]bool, error) {
	var quoted []string
	for k := range s.Params {
		if v := variableOf(k); variableName.MatchString(v) {
			quoted = append(quoted, quoteLiteral(strings.ToUpper(v)))
		}
	}
	out := map[string]bool{}
	if len(quoted) == 0 {
		return out, nil
	}
	slices.Sort(quoted)
	res, err := s.sql(ctx, a, n, "SELECT VARIABLE_NAME, READ_ONLY FROM information_schema.SYSTEM_VARIABLES WHERE VARIABLE_NAME IN ("+
		strings.Join(quoted, ", ")+");\n")
	if err != nil {
		return nil, fmt.Errorf("while reading the system variables of node %d: %w", n.Ordinal, err)
	}
	for _, r := range rows(res) {
		out[strings.ToLower(r["VARIABLE_NAME"])] = r["READ_ONLY"] == "YES"
	}
	return out, nil
}

// checkParameters checks a change on the primary before the spec records
// it: every parameter must name a system variable, and every new value of
// a dynamic one is set there (SET GLOBAL), which is how MariaDB validates
// it. A refusal fails the task for good, naming the parameter as the API
// does; nothing was recorded or written.
func (e *Engine) checkParameters(ctx context.Context, s *step) error {
	if err := CheckParameters(s.Params); err != nil {
		return err
	}
	a, err := s.Agent(ctx, s.n.Node)
	if err != nil {
		return err
	}
	vars, err := s.variables(ctx, a, s.n)
	if err != nil {
		return err
	}
	return enginekit.CheckEach(s.Params, func(k, v string) (string, error) {
		readOnly, ok := vars[variableOf(k)]
		switch {
		case !ok && v != "":
			return fmt.Sprintf("is not a system variable of MariaDB %s: set it when the cluster is created", e.version(s.Cluster)), nil
		case !ok || readOnly || v == "":
			s.Logf("%s: %s", k, map[bool]string{true: "needs a restart", false: "back to its default"}[!ok || readOnly])
		default:
			if _, err := s.sql(ctx, a, s.n, setGlobal(variableOf(k), v)); err != nil {
				return enginekit.Refuses("MariaDB", err), nil
			}
			s.Logf("%s = %s on node %d", k, v, s.n.Ordinal)
		}
		return "", nil
	})
}

// applyParameters applies a recorded change on the node, whose my.cnf the
// previous step rewrote: SET GLOBAL when every changed variable is
// dynamic, else a restart of the node, waiting until it serves again (a
// galera member synced, a replica replicating).
func (e *Engine) applyParameters(ctx context.Context, s *step) error {
	a, err := s.Agent(ctx, s.n.Node)
	if err != nil {
		return err
	}
	vars, err := s.variables(ctx, a, s.n)
	if err != nil {
		return err
	}
	var restart []string
	for k := range s.Params {
		if readOnly, ok := vars[variableOf(k)]; !ok || readOnly {
			restart = append(restart, k)
		}
	}
	if len(restart) > 0 {
		slices.Sort(restart)
		s.Logf("restarting node %d: %s change only with a restart", s.n.Ordinal, strings.Join(restart, ", "))
		return e.restartNode(ctx, s)
	}
	defaults, err := e.defaults(s)
	if err != nil {
		return err
	}
	for _, k := range slices.Sorted(maps.Keys(s.Params)) {
		v, stmt := s.Params[k], ""
		switch d, ok := defaults[variableOf(k)]; {
		case v != "":
			stmt = setGlobal(variableOf(k), v)
		case ok:
			v, stmt = d, setGlobal(variableOf(k), d)
		default:
			v, stmt = "DEFAULT", fmt.Sprintf("SET GLOBAL %s = DEFAULT;\n", variableOf(k))
		}
		if _, err := s.sql(ctx, a, s.n, stmt); err != nil {
			return fmt.Errorf("while setting %s on node %d: %w", k, s.n.Ordinal, err)
		}
		s.Logf("%s = %s on node %d", k, v, s.n.Ordinal)
	}
	return nil
}

// restartNode stops and starts the node as a rolling restart does.
func (e *Engine) restartNode(ctx context.Context, s *step) error {
	if err := e.stop(ctx, s); err != nil {
		return err
	}
	if s.Cluster.Topology == dbplane.TopologyGalera {
		return e.startMember(ctx, s)
	}
	if err := e.start(ctx, s); err != nil {
		return err
	}
	if s.Cluster.Topology == dbplane.TopologyReplication && !s.n.isPrimary() {
		return e.verifyReplica(ctx, s)
	}
	return nil
}

// defaults are the values dbplane gives the node's variables when the
// spec does not: what a removed parameter goes back to.
func (e *Engine) defaults(s *step) (map[string]string, error) {
	size, err := e.size(s)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, st := range nodeSettings(s.n, size.MemoryMB, max(size.CPUMillis/1000, 1)) {
		out[st.name] = st.value
	}
	return out, nil
}

var (
	numericValue = regexp.MustCompile(`^-?([0-9]+|[0-9]*\.[0-9]+)$`)
	sizeValue    = regexp.MustCompile(`^([0-9]+)([KkMmGgTt])$`)
)

// setGlobal is the statement that sets a system variable to a value as
// my.cnf writes it: numbers bare, sizes with a suffix (64M) in bytes, as
// SQL has no suffixes, anything else as a string literal (enumerations
// and booleans take 'ON' as well as ON).
func setGlobal(variable, value string) string {
	if m := sizeValue.FindStringSubmatch(value); m != nil {
		n, err := strconv.ParseInt(m[1], 10, 64)
		shift := map[string]uint{"k": 10, "m": 20, "g": 30, "t": 40}[strings.ToLower(m[2])]
		if err == nil && n < 1<<(63-shift) {
			value = strconv.FormatInt(n<<shift, 10)
		}
	}
	if !numericValue.MatchString(value) {
		value = quoteLiteral(value)
	}
	return fmt.Sprintf("SET GLOBAL %s = %s;\n", variable, value)
}
