package mysql

import (
	"cmp"
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
)

// recoverTimeout bounds mariadbd --wsrep-recover, which replays InnoDB's
// redo log to find the last committed write set.
const recoverTimeout = 3 * time.Minute

// savedState is what a stopped galera member says of its data: the
// cluster state it belongs to, the seqno of its last write set, and
// whether galera marked it safe to bootstrap from (the last member to
// leave a cluster cleanly).
type savedState struct {
	ordinal   int
	uuid      string
	seqno     int64
	safe      bool
	recovered bool // seqno came from mariadbd --wsrep-recover
}

// parseGrastate reads grastate.dat. A member that did not stop cleanly
// has seqno -1 there.
func parseGrastate(ordinal int, text string) (savedState, error) {
	st := savedState{ordinal: ordinal, seqno: -1}
	var sawSeqno bool
	for line := range strings.Lines(text) {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.TrimSpace(k) {
		case "uuid":
			st.uuid = v
		case "seqno":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return st, fmt.Errorf("grastate.dat of member %d has seqno %q", ordinal, v)
			}
			st.seqno, sawSeqno = n, true
		case "safe_to_bootstrap":
			st.safe = v == "1"
		}
	}
	if st.uuid == "" || !sawSeqno {
		return st, fmt.Errorf("grastate.dat of member %d has no uuid or seqno: %q", ordinal, enginekit.Tail(text, 300))
	}
	return st, nil
}

// recoveredPosition matches the position mariadbd --wsrep-recover logs.
var recoveredPosition = regexp.MustCompile(`WSREP: Recovered position:\s*([0-9a-fA-F-]{36}):(-?[0-9]+)`)

// parseRecovered returns the uuid and seqno mariadbd --wsrep-recover
// logged.
func parseRecovered(out string) (string, int64, bool) {
	m := recoveredPosition.FindAllStringSubmatch(out, -1)
	if len(m) == 0 {
		return "", 0, false
	}
	last := m[len(m)-1]
	seqno, err := strconv.ParseInt(last[2], 10, 64)
	if err != nil {
		return "", 0, false
	}
	return last[1], seqno, true
}

// zeroUUID is the state uuid of a member that never joined a cluster.
const zeroUUID = "00000000-0000-0000-0000-000000000000"

// chooseBootstrap picks the member to bootstrap a stopped galera cluster
// from: one marked safe to bootstrap, else the one with the highest
// seqno, as galera's documentation says; a tie goes to preferred (the
// primary-zone member), then to the lowest ordinal. Members of different
// cluster states, or none with a known position, are an error: starting
// would lose writes or split the cluster.
func chooseBootstrap(states []savedState, preferred int) (savedState, error) {
	uuid := ""
	var known []savedState
	for _, st := range states {
		if st.seqno < 0 || st.uuid == zeroUUID {
			continue
		}
		if uuid != "" && st.uuid != uuid {
			return savedState{}, dbplane.Permanent(fmt.Errorf("members hold different cluster states (%s and %s): choose the member to bootstrap by hand", uuid, st.uuid))
		}
		uuid = st.uuid
		known = append(known, st)
	}
	if len(known) == 0 {
		return savedState{}, dbplane.Permanent(fmt.Errorf("no member knows its position in the cluster's history"))
	}
	better := func(a, b savedState) int { // < 0 when a is the better choice
		if a.safe != b.safe {
			if a.safe {
				return -1
			}
			return 1
		}
		if c := cmp.Compare(b.seqno, a.seqno); c != 0 {
			return c
		}
		if (a.ordinal == preferred) != (b.ordinal == preferred) {
			if a.ordinal == preferred {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.ordinal, b.ordinal)
	}
	return slices.MinFunc(known, better), nil
}

// savedStateOf reads a stopped member's grastate.dat and, when it did not
// stop cleanly, recovers its position with mariadbd --wsrep-recover.
func (s *step) savedStateOf(ctx context.Context, a dbplane.HostAgent, m node) (savedState, error) {
	cmd := asMySQL(m, "cat", m.dataFile("grastate.dat"))
	cmd.Timeout = 10 * time.Second
	res, err := enginekit.Run(ctx, a, cmd)
	if err != nil {
		return savedState{}, fmt.Errorf("while reading grastate.dat of member %d on host %d: %w", m.Ordinal, m.HostID, err)
	}
	st, err := parseGrastate(m.Ordinal, res.Stdout)
	if err != nil || st.seqno >= 0 {
		return st, err
	}
	rec := asMySQL(m, mariadbd, "--defaults-file="+m.confFile(), "--wsrep-recover")
	rec.Timeout = recoverTimeout
	out, err := a.Run(ctx, rec)
	if err != nil {
		return st, fmt.Errorf("while recovering the position of member %d on host %d: %w", m.Ordinal, m.HostID, err)
	}
	uuid, seqno, ok := parseRecovered(out.Stdout + "\n" + out.Stderr)
	if !ok {
		return st, fmt.Errorf("mariadbd --wsrep-recover did not log the position of member %d (exit %d): %s", m.Ordinal, out.ExitCode, enginekit.Tail(out.Stderr, maxStderr))
	}
	st.uuid, st.seqno, st.recovered = uuid, seqno, true
	return st, nil
}

// bootstrapRecovered starts a stopped galera cluster from its most advanced
// member. If a member runs already, the cluster was started (by an earlier
// run of this step): nothing is chosen again, the step waits for it to be
// synced, so that running it twice never bootstraps a second cluster.
func (e *Engine) bootstrapRecovered(ctx context.Context, s *step) error {
	agents := map[int]dbplane.HostAgent{}
	for _, m := range members(s.Cluster) {
		a, err := s.Agent(ctx, m.Node)
		if err != nil {
			return err
		}
		agents[m.Ordinal] = a
		if st, err := a.InstanceStatus(ctx, m.instanceID()); err == nil && st.Running {
			s.Logf("member %d runs already: the cluster is started from it", m.Ordinal)
			return s.waitSynced(ctx, a, m, joinTimeout)
		} else if err != nil && dbplane.ErrorKind(err) != dbplane.KindNotFound {
			return fmt.Errorf("while asking host %d about member %d: %w", m.HostID, m.Ordinal, err)
		}
	}
	var states []savedState
	for _, m := range members(s.Cluster) {
		st, err := s.savedStateOf(ctx, agents[m.Ordinal], m)
		if err != nil {
			return err
		}
		s.Logf("member %d: state %s, seqno %d, safe_to_bootstrap %v%s", m.Ordinal, st.uuid, st.seqno, st.safe,
			map[bool]string{true: " (recovered with --wsrep-recover)"}[st.recovered])
		states = append(states, st)
	}
	chosen, err := chooseBootstrap(states, enginekit.PrimaryOf(s.Cluster).Ordinal)
	if err != nil {
		return err
	}
	n, err := nodeOf(s.Cluster, chosen.ordinal)
	if err != nil {
		return err
	}
	return e.bootstrapFrom(ctx, s, agents[n.Ordinal], n, chosen)
}

// bootstrapFrom marks member n safe to bootstrap from and starts it as a
// new cluster at its position.
func (e *Engine) bootstrapFrom(ctx context.Context, s *step, a dbplane.HostAgent, n node, st savedState) error {
	if !st.safe {
		cmd := asMySQL(n, "sed", "-i", "s/^safe_to_bootstrap:.*/safe_to_bootstrap: 1/", n.dataFile("grastate.dat"))
		cmd.Timeout = 10 * time.Second
		if _, err := enginekit.Run(ctx, a, cmd); err != nil {
			return fmt.Errorf("while marking member %d safe to bootstrap: %w", n.Ordinal, err)
		}
	}
	extra := []string{bootstrapFlag}
	if st.recovered {
		extra = append(extra, fmt.Sprintf("--wsrep-start-position=%s:%d", st.uuid, st.seqno))
	}
	inst, err := e.instance(s, n, extra...)
	if err != nil {
		return err
	}
	s.Logf("bootstrapping the cluster from member %d (seqno %d)", n.Ordinal, st.seqno)
	if err := replaceInstance(ctx, a, inst); err != nil {
		return fmt.Errorf("while starting member %d on host %d: %w", n.Ordinal, n.HostID, err)
	}
	if err := s.waitSynced(ctx, a, n, readyTimeout); err != nil {
		s.logTail(ctx, a, n)
		return err
	}
	s.Logf("member %d bootstrapped galera cluster %s on %s", n.Ordinal, s.Cluster.Name, n.hostPort())
	return nil
}

// startMember starts a galera member as an ordinary member unless it runs
// (the member the cluster was bootstrapped from), and waits until it is
// synced: it catches up with an incremental transfer from a donor's cache,
// or a full one when it missed too much.
func (e *Engine) startMember(ctx context.Context, s *step) error {
	n := s.n
	a, err := s.Agent(ctx, n.Node)
	if err != nil {
		return err
	}
	if st, err := a.InstanceStatus(ctx, n.instanceID()); err == nil && st.Running {
		s.Logf("member %d runs", n.Ordinal)
		return s.waitSynced(ctx, a, n, joinTimeout)
	}
	inst, err := e.instance(s, n)
	if err != nil {
		return err
	}
	if err := a.StartInstance(ctx, inst); err != nil {
		return fmt.Errorf("while starting member %d on host %d: %w", n.Ordinal, n.HostID, err)
	}
	if err := s.waitSynced(ctx, a, n, joinTimeout); err != nil {
		s.logTail(ctx, a, n)
		return err
	}
	s.Logf("member %d is back in galera cluster %s on %s", n.Ordinal, s.Cluster.Name, n.hostPort())
	return nil
}
